package app

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookd/hookd/internal/config"
	"github.com/hookd/hookd/internal/masterkey"
	"github.com/hookd/hookd/internal/secretbox"
	"github.com/hookd/hookd/internal/store"
)

// A rotation of the embedded key file interrupted after it announced the new
// key: serve refuses with a hint, and running the rotation again finishes it
// with the key it had written, not a fresh one.
func TestInterruptedKeyFileRotationIsFinished(t *testing.T) {
	ctx := context.Background()
	cfg := &config.Config{DataDir: t.TempDir()}
	st, err := OpenServingStore(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKeys(ctx, cfg, st); err != nil { // creates master.key
		t.Fatal(err)
	}
	next, _ := secretbox.GenerateKey()
	if err := os.WriteFile(filepath.Join(cfg.DataDir, nextMasterKeyFile), []byte(next+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	old, err := MasterBox(cfg)
	if err != nil {
		t.Fatal(err)
	}
	nextBox, _ := boxOf("next", next)
	both, _ := secretbox.New(mustKey(t, next), mustKey(t, readKey(t, cfg)))
	if _, err := masterkey.Check(ctx, st, both); err != nil { // the rotation had announced it
		t.Fatal(err)
	}
	_, err = LoadKeys(ctx, cfg, st)
	if !errors.Is(err, store.ErrKeyMismatch) || !strings.Contains(err.Error(), "rotate-master` again") {
		t.Fatalf("serve after an interrupted rotation: %v", err)
	}
	st.Close()

	other, _ := secretbox.GenerateKey()
	if _, err := RotateMaster(ctx, cfg, other, 10); err == nil || !strings.Contains(err.Error(), "interrupted rotation") {
		t.Fatalf("rotating to another key over an interrupted rotation: %v", err)
	}
	res, err := RotateMaster(ctx, cfg, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if res.MasterKeyFingerprint != nextBox.Fingerprint() || len(res.RetiredFingerprints) != 1 || res.RetiredFingerprints[0] != old.Fingerprint() {
		t.Fatalf("finished with %+v, want the interrupted rotation's key", res)
	}
	if got := readKey(t, cfg); got != next {
		t.Fatal("master.key is not the interrupted rotation's key")
	}
	st, err = OpenServingStore(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := LoadKeys(ctx, cfg, st); err != nil {
		t.Fatalf("serve after the finished rotation: %v", err)
	}
}

func TestPreviousMasterKeyErrorsNameTheFlag(t *testing.T) {
	key, _ := secretbox.GenerateKey()
	cfg := &config.Config{DataDir: t.TempDir(), MasterKey: key, PreviousMasterKey: config.ListFlag{key, "not-a-key"}}
	_, err := MasterBox(cfg)
	if err == nil || !strings.Contains(err.Error(), "--previous-master-key (number 2)") || strings.Contains(err.Error(), "not-a-key") {
		t.Fatalf("err = %v", err)
	}
}

func mustKey(t *testing.T, raw string) []byte {
	k, err := secretbox.ParseKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func readKey(t *testing.T, cfg *config.Config) string {
	b, err := os.ReadFile(filepath.Join(cfg.DataDir, masterKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}
