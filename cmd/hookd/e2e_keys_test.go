package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookd/hookd/internal/app"
	"github.com/hookd/hookd/internal/secretbox"
)

// runHookd runs the binary to completion and returns what it printed.
func runHookd(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := exec.Command(hookdBin, args...)
	cmd.Env = os.Environ()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

func runRotateMaster(t *testing.T, args ...string) app.RotateResult {
	t.Helper()
	out, errOut, err := runHookd(t, append([]string{"keys", "rotate-master"}, args...)...)
	if err != nil {
		t.Fatalf("hookd keys rotate-master: %v\n%s", err, errOut)
	}
	var res app.RotateResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("rotate-master printed %q: %v", out, err)
	}
	return res
}

// serveRefuses runs `hookd serve` expecting it to exit at start with an
// error that says want.
func serveRefuses(t *testing.T, want string, args ...string) {
	t.Helper()
	done := make(chan struct{})
	var out, errOut string
	var err error
	go func() {
		defer close(done)
		out, errOut, err = runHookd(t, append([]string{"serve", "--addr", freePort(t)}, args...)...)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not refuse to start within 30s")
	}
	if err == nil || !strings.Contains(errOut, want) {
		t.Fatalf("serve: err=%v, want a refusal saying %q; printed:\n%s%s", err, want, out, errOut)
	}
}

// deliverOne ingests a completed task and waits until the receiver has it.
func deliverOne(t *testing.T, h *hookd, rcv *receiver, team string) {
	t.Helper()
	before := rcv.unique()
	code, res := call(t, "POST", h.base+"/internal/v1/task-events", e2eIngestToken, "", map[string]any{
		"team_id": team, "task_id": uuid.NewString(), "task_status": "completed", "task_output": map[string]any{"n": 1}})
	if code != http.StatusAccepted || res["delivery_count"].(float64) != 1 {
		t.Fatalf("ingest: %d %v", code, res)
	}
	waitFor(t, "the delivery", 20*time.Second, func() bool { return rcv.unique() == before+1 })
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if rcv.badSigs != 0 {
		t.Fatalf("%d deliveries carried a signature the webhook secret does not verify", rcv.badSigs)
	}
}

// createHook registers a webhook to rcv and returns its id and secret.
func createHook(t *testing.T, h *hookd, token, team, url string) (string, string) {
	t.Helper()
	code, created := call(t, "POST", h.base+"/api/v1/webhooks", token, team, map[string]any{
		"display_name": "rotation", "webhook_url": url, "webhook_events": []string{"task.completed"}})
	if code != http.StatusCreated {
		t.Fatalf("create webhook: %d %v", code, created)
	}
	return created["id"].(string), created["webhook_secret"].(string)
}

func secretOf(t *testing.T, h *hookd, token, team, id string) string {
	t.Helper()
	code, got := call(t, "GET", h.base+"/api/v1/webhooks/"+id, token, team, nil)
	if code != http.StatusOK {
		t.Fatalf("get webhook: %d %v", code, got)
	}
	return got["webhook_secret"].(string)
}

// On the embedded store the master key is rotated while serve is stopped:
// the key file changes, the old key is kept beside it, every secret still
// signs, a second run changes nothing, and the old key no longer starts.
func TestRotateMasterEmbedded(t *testing.T) {
	dataDir := t.TempDir()
	storeArgs := []string{"--data-dir", dataDir}
	team, token := bootstrap(t, storeArgs)
	rcv := newReceiver(t)
	h := startHookd(t, serveArgs(storeArgs, rcv)...)
	id, secret := createHook(t, h, token, team, rcv.url("/a"))
	otherID, _ := createHook(t, h, token, team, rcv.url("/b"))
	_, rotated := call(t, "POST", h.base+"/api/v1/webhooks/"+otherID+"/rotate-secret", token, team, nil)
	otherSecret := rotated["webhook_secret"].(string)

	if _, errOut, err := runHookd(t, "keys", "rotate-master", "--data-dir", dataDir); err == nil || !strings.Contains(errOut, "stop hookd serve first") {
		t.Fatalf("rotate-master beside a running serve: err=%v\n%s", err, errOut)
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	oldKey, _ := os.ReadFile(filepath.Join(dataDir, "master.key"))

	res := runRotateMaster(t, "--data-dir", dataDir)
	if res.Webhooks != 2 || res.Reencrypted != 2 || len(res.RetiredFingerprints) != 1 {
		t.Fatalf("rotation: %+v", res)
	}
	newKey, _ := os.ReadFile(filepath.Join(dataDir, "master.key"))
	retired, err := os.ReadFile(res.RetiredKeyFile)
	if err != nil || !bytes.Equal(retired, oldKey) || bytes.Equal(newKey, oldKey) {
		t.Fatalf("key files: retired %q (%v), old %q, new %q", retired, err, oldKey, newKey)
	}
	for _, f := range []string{"master.key", filepath.Base(res.RetiredKeyFile)} {
		if fi, err := os.Stat(filepath.Join(dataDir, f)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v, mode %v", f, err, fi.Mode())
		}
	}
	if _, err := os.Stat(filepath.Join(dataDir, "master.key.next")); !os.IsNotExist(err) {
		t.Fatalf("master.key.next left behind: %v", err)
	}

	again := runRotateMaster(t, "--data-dir", dataDir, "--new-master-key", strings.TrimSpace(string(newKey)))
	if again.Reencrypted != 0 || again.AlreadyCurrent != 2 || len(again.RetiredFingerprints) != 0 {
		t.Fatalf("second run with the same key changed something: %+v", again)
	}

	serveRefuses(t, "If the master key was rotated", serveArgs(append(storeArgs, "--master-key", strings.TrimSpace(string(oldKey))), rcv)...)

	h = startHookd(t, serveArgs(storeArgs, rcv)...)
	if got := secretOf(t, h, token, team, id); got != secret {
		t.Fatalf("secret after rotation %q, want %q", got, secret)
	}
	if got := secretOf(t, h, token, team, otherID); got != otherSecret {
		t.Fatalf("rotated secret after master rotation %q, want %q", got, otherSecret)
	}
	call(t, "DELETE", h.base+"/api/v1/webhooks/"+otherID, token, team, nil)
	rcv.mu.Lock()
	rcv.secret = secret
	rcv.mu.Unlock()
	deliverOne(t, h, rcv, team)
}

// On PostgreSQL the rotation runs beside serving processes: it refuses while
// no server has the new key; a server started with the new key and the old
// one as previous serves throughout; afterwards the old key alone is refused.
func TestRotateMasterPostgres(t *testing.T) {
	if os.Getenv("HOOKD_TEST_DATABASE_URL") == "" {
		t.Skip("HOOKD_TEST_DATABASE_URL is not set: PostgreSQL variant skipped")
	}
	keyA, _ := secretbox.GenerateKey()
	keyB, _ := secretbox.GenerateKey()
	base := []string{"--data-dir", t.TempDir(), "--database", freshSchemaURL(t), "--jwt-secret", "e2e-jwt-secret-0123456789abcdefghij"}
	withA := append(append([]string{}, base...), "--master-key", keyA)
	team, token := bootstrap(t, withA)
	rcv := newReceiver(t)
	oldServer := startHookd(t, serveArgs(withA, rcv)...)
	id, secret := createHook(t, oldServer, token, team, rcv.url("/a"))
	rcv.mu.Lock()
	rcv.secret = secret
	rcv.mu.Unlock()

	waitFor(t, "the server's registration", 10*time.Second, func() bool { return strings.Contains(oldServer.logText(), "registered as lease owner") })
	if _, errOut, err := runHookd(t, append([]string{"keys", "rotate-master", "--new-master-key", keyB}, withA...)...); err == nil || !strings.Contains(errOut, "none has started with the new key") {
		t.Fatalf("rotate-master while servers lack the new key: err=%v\n%s", err, errOut)
	}

	// Rolling restart: the new server holds B (sealing) and A (previous).
	newServer := startHookd(t, serveArgs(append(append([]string{}, base...), "--master-key", keyB, "--previous-master-key", keyA), rcv)...)
	serveRefuses(t, "being moved between master keys", serveArgs(withA, rcv)...)
	if err := oldServer.stop(); err != nil {
		t.Fatal(err)
	}
	deliverOne(t, newServer, rcv, team)

	res := runRotateMaster(t, append([]string{"--new-master-key", keyB}, withA...)...)
	if res.Webhooks != 1 || res.Reencrypted != 1 || len(res.RetiredFingerprints) != 1 {
		t.Fatalf("rotation: %+v", res)
	}
	if got := secretOf(t, newServer, token, team, id); got != secret {
		t.Fatalf("secret after rotation %q, want %q", got, secret)
	}
	deliverOne(t, newServer, rcv, team)

	again := runRotateMaster(t, append([]string{"--new-master-key", keyB}, withA...)...)
	if again.Reencrypted != 0 || again.AlreadyCurrent != 1 {
		t.Fatalf("second run changed something: %+v", again)
	}
	serveRefuses(t, "If the master key was rotated", serveArgs(withA, rcv)...)
	if err := newServer.stop(); err != nil {
		t.Fatal(err)
	}
	onlyB := startHookd(t, serveArgs(append(append([]string{}, base...), "--master-key", keyB), rcv)...)
	deliverOne(t, onlyB, rcv, team)
}
