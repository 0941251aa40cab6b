package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/hookd/hookd/internal/config"
	"github.com/hookd/hookd/internal/masterkey"
	"github.com/hookd/hookd/internal/secretbox"
	"github.com/hookd/hookd/internal/store"
	"github.com/hookd/hookd/internal/store/sqlite"
)

// RotateResult is what `hookd keys rotate-master` prints.
type RotateResult struct {
	MasterKeyFingerprint string   `json:"master_key_fingerprint"`
	RetiredFingerprints  []string `json:"retired_fingerprints"`
	Webhooks             int      `json:"webhooks"`
	Reencrypted          int      `json:"reencrypted"`
	AlreadyCurrent       int      `json:"already_current"`
	MasterKeyFile        string   `json:"master_key_file,omitempty"`
	RetiredKeyFile       string   `json:"retired_key_file,omitempty"`
}

// RotateMaster re-encrypts every webhook secret under a new master key
// (masterkey.Rotate). The old keys are --master-key and
// --previous-master-key; newKey is the new one.
//
// On PostgreSQL, or when the key is given by --master-key, servers keep
// running: start them with the new key as --master-key and the old one as
// --previous-master-key first (a server records the new key as it starts;
// the rotation refuses to seal under a key no running server has).
//
// On the embedded store the one `serve` must be stopped (the rotation holds
// the data directory's lock). With the generated key file, newKey may be
// empty (a key is generated) and the files change too, in an order that an
// interruption at any point cannot break: the new key is written to
// master.key.next before anything is sealed with it; after the rotation the
// old key is kept as master.key.retired-<fingerprint> (for backups made
// before) and master.key.next replaces master.key. Run again after an
// interruption, it finishes with the key in master.key.next.
func RotateMaster(ctx context.Context, cfg *config.Config, newKey string, batch int) (RotateResult, error) {
	keyFile := !cfg.IsPostgres() && cfg.MasterKey == ""
	if !keyFile && newKey == "" {
		return RotateResult{}, errors.New("--new-master-key is required when the master key is given by --master-key (always on PostgreSQL); generate one with: head -c 32 /dev/urandom | base64")
	}
	var st store.Store
	var err error
	if cfg.IsPostgres() {
		st, err = OpenStore(ctx, cfg)
	} else {
		st, err = OpenServingStore(ctx, cfg, nil)
		var inUse *sqlite.InUseError
		if errors.As(err, &inUse) {
			return RotateResult{}, fmt.Errorf("stop hookd serve first: on the embedded store the master key is rotated while the server is stopped (%v)", err)
		}
	}
	if err != nil {
		return RotateResult{}, fmt.Errorf("opening the store: %w", err)
	}
	defer st.Close()
	opt := masterkey.Options{BatchSize: batch}
	if lo, ok := st.(interface {
		LiveOwners(context.Context) (int, error)
	}); ok {
		opt.LiveServers = lo.LiveOwners
	}
	if keyFile {
		return rotateKeyFile(ctx, cfg, st, newKey, opt)
	}
	old, err := MasterBox(cfg)
	if err != nil {
		return RotateResult{}, err
	}
	next, err := boxOf("--new-master-key", newKey)
	if err != nil {
		return RotateResult{}, err
	}
	res, err := masterkey.Rotate(ctx, st, old, next, opt)
	return result(res), err
}

func rotateKeyFile(ctx context.Context, cfg *config.Config, st store.Store, newKey string, opt masterkey.Options) (RotateResult, error) {
	curPath := filepath.Join(cfg.DataDir, masterKeyFile)
	nextPath := filepath.Join(cfg.DataDir, nextMasterKeyFile)
	if _, err := os.Stat(curPath); errors.Is(err, fs.ErrNotExist) {
		return RotateResult{}, fmt.Errorf("no master key file %s: nothing to rotate (hookd creates it on first use)", curPath)
	}
	old, err := MasterBox(cfg)
	if err != nil {
		return RotateResult{}, err
	}
	var given *secretbox.Box
	if newKey != "" {
		if given, err = boxOf("--new-master-key", newKey); err != nil {
			return RotateResult{}, err
		}
	}
	// Written before anything is sealed with it; an earlier, interrupted
	// rotation's key wins, so that it is finished rather than abandoned.
	nextRaw, err := secretbox.LoadOrCreateFile(nextPath, func() (string, error) {
		if newKey != "" {
			return newKey, nil
		}
		return secretbox.GenerateKey()
	})
	if err != nil {
		return RotateResult{}, fmt.Errorf("new master key file: %w", err)
	}
	next, err := boxOf(nextPath, nextRaw)
	if err != nil {
		return RotateResult{}, err
	}
	if given != nil && given.Fingerprint() != next.Fingerprint() {
		return RotateResult{}, fmt.Errorf("an interrupted rotation to another key left %s: run without --new-master-key to finish it first", nextPath)
	}
	res, err := masterkey.Rotate(ctx, st, old, next, opt)
	out := result(res)
	if err != nil {
		return out, err
	}
	out.MasterKeyFile = curPath
	if next.Fingerprint() == old.Fingerprint() { // rotated to the key in use: nothing to swap
		return out, os.Remove(nextPath)
	}
	curRaw, err := secretbox.LoadOrCreateFile(curPath, func() (string, error) { return "", errors.New("master.key vanished") })
	if err != nil {
		return out, err
	}
	out.RetiredKeyFile = filepath.Join(cfg.DataDir, masterKeyFile+".retired-"+old.Fingerprint()[:16])
	if _, err := secretbox.LoadOrCreateFile(out.RetiredKeyFile, func() (string, error) { return curRaw, nil }); err != nil {
		return out, fmt.Errorf("keeping the old master key: %w", err)
	}
	if err := os.Rename(nextPath, curPath); err != nil {
		return out, fmt.Errorf("installing the new master key: %w", err)
	}
	syncDir(cfg.DataDir)
	return out, nil
}

func boxOf(what, raw string) (*secretbox.Box, error) {
	key, err := secretbox.ParseKey(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return secretbox.New(key)
}

func result(r masterkey.Result) RotateResult {
	retired := []string(r.Retired)
	if retired == nil {
		retired = []string{}
	}
	return RotateResult{MasterKeyFingerprint: r.Fingerprint, RetiredFingerprints: retired,
		Webhooks: r.Webhooks, Reencrypted: r.Reencrypted, AlreadyCurrent: r.AlreadyCurrent}
}

// syncDir makes a rename durable; best effort, as some platforms cannot
// sync a directory.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}
