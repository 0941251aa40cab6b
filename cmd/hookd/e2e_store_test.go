package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/secretbox"
)

// TestEmbeddedStoreAtRest checks what a fresh `hookd serve` leaves on disk:
// key files readable only by the owner, and no webhook secret in clear text
// anywhere in the database files.
func TestEmbeddedStoreAtRest(t *testing.T) {
	dataDir := t.TempDir()
	storeArgs := []string{"--data-dir", dataDir}
	team, token := bootstrap(t, storeArgs)
	rcv := newReceiver(t)
	h := startHookd(t, serveArgs(storeArgs, rcv)...)
	code, created := call(t, "POST", h.base+"/api/v1/webhooks", token, team, map[string]any{
		"display_name": "at rest", "webhook_url": "https://example.com/x", "webhook_events": []string{"task.completed"}})
	if code != http.StatusCreated {
		t.Fatalf("create: %d %v", code, created)
	}
	secret := created["webhook_secret"].(string)
	_, rotated := call(t, "POST", h.base+"/api/v1/webhooks/"+created["id"].(string)+"/rotate-secret", token, team, nil)
	if err := h.stop(); err != nil {
		t.Fatalf("exit: %v", err)
	}
	for _, name := range []string{"master.key", "jwt-secret"} {
		fi, err := os.Stat(filepath.Join(dataDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", name, fi.Mode().Perm())
		}
	}
	files, _ := filepath.Glob(filepath.Join(dataDir, "hookd.db*"))
	if len(files) == 0 {
		t.Fatal("no database file in the data dir")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{secret, rotated["webhook_secret"].(string)} {
			if bytes.Contains(data, []byte(s)) || bytes.Contains(data, []byte(strings.TrimPrefix(s, "whsec_"))) {
				t.Errorf("%s contains a webhook secret in clear text", filepath.Base(f))
			}
		}
	}
}

// TestPostgresKeyRules: on PostgreSQL serve refuses to start without a
// master key, and with a key other than the one the store recorded.
func TestPostgresKeyRules(t *testing.T) {
	if os.Getenv("HOOKD_TEST_DATABASE_URL") == "" {
		t.Skip("HOOKD_TEST_DATABASE_URL is not set: PostgreSQL variant skipped")
	}
	url := freshSchemaURL(t)
	keyA, _ := secretbox.GenerateKey()
	keyB, _ := secretbox.GenerateKey()
	jwt := "--jwt-secret=e2e-jwt-secret-0123456789abcdefghij"
	run := func(args ...string) (string, error) {
		cmd := exec.Command(hookdBin, append([]string{"serve", "--addr", freePort(t), "--database", url, "--data-dir", t.TempDir()}, args...)...)
		cmd.Env = os.Environ()
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run(jwt)
	if err == nil || !strings.Contains(out, "--master-key") {
		t.Fatalf("serve without a master key on PostgreSQL: err=%v\n%s", err, out)
	}
	rcv := newReceiver(t)
	h := startHookd(t, "--database", url, "--master-key", keyA, jwt, "--ca-file", rcv.caFile)
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	out, err = run("--master-key", keyB, jwt)
	if err == nil || !strings.Contains(out, "another master key") {
		t.Fatalf("serve with another master key: err=%v\n%s", err, out)
	}
}

// TestTwoProcessesSharePostgres runs two `hookd serve` on one database: state
// written through one is served by the other, and while both deliver from
// the shared queue no delivery is sent twice.
func TestTwoProcessesSharePostgres(t *testing.T) {
	if os.Getenv("HOOKD_TEST_DATABASE_URL") == "" {
		t.Skip("HOOKD_TEST_DATABASE_URL is not set: PostgreSQL variant skipped")
	}
	storeArgs := storeConfig{name: "postgres"}.resolve(t)
	team, token := bootstrap(t, storeArgs)
	rcv := newReceiver(t)
	a := startHookd(t, serveArgs(storeArgs, rcv)...)
	b := startHookd(t, serveArgs(storeArgs, rcv)...)

	code, created := call(t, "POST", a.base+"/api/v1/webhooks", token, team, map[string]any{
		"display_name": "shared", "webhook_url": rcv.url("/shared"), "webhook_events": []string{"task.completed"}})
	if code != http.StatusCreated {
		t.Fatalf("create via A: %d %v", code, created)
	}
	id := created["id"].(string)
	if code, got := call(t, "GET", b.base+"/api/v1/webhooks/"+id, token, team, nil); code != 200 || got["webhook_secret"] != created["webhook_secret"] {
		t.Fatalf("B does not serve A's webhook: %d %v", code, got)
	}
	rcv.mu.Lock()
	rcv.secret = created["webhook_secret"].(string)
	rcv.mu.Unlock()

	const total = 2000
	for i := 0; i < total/250; i++ {
		target := a
		if i%2 == 1 {
			target = b
		}
		events := make([]map[string]any, 250)
		for j := range events {
			events[j] = map[string]any{"team_id": team, "task_id": fmt.Sprintf("019c65a0-%04x-7bbb-8ccc-%012x", i, j),
				"task_status": "completed", "task_output": map[string]any{"j": j}}
		}
		if code, res := call(t, "POST", target.base+"/internal/v1/task-events/batch", e2eIngestToken, "", map[string]any{"events": events}); code != 200 {
			t.Fatalf("batch: %d %v", code, res)
		}
	}
	waitFor(t, "every delivery", 60*time.Second, func() bool { return rcv.unique() == total })
	rcv.mu.Lock()
	sent, bad := len(rcv.got), rcv.badSigs
	rcv.mu.Unlock()
	if sent != total || bad != 0 {
		t.Fatalf("%d posts for %d deliveries (%d bad signatures): a delivery was sent twice while both processes were alive", sent, total, bad)
	}
	for _, h := range []*hookd{a, b} {
		if err := h.stop(); err != nil {
			t.Fatal(err)
		}
	}
}
