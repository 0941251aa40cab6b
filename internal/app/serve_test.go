package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/config"
)

// syncBuffer is a log destination safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func logServeConfig(t *testing.T, args ...string) *config.Config {
	t.Helper()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg := config.Register(fs, true)
	args = append([]string{"--addr", "127.0.0.1:0", "--ingest-token", "start-log-ingest-token"}, args...)
	if err := config.Parse(fs, args, func(string) (string, bool) { return "", false }); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// startAndStop runs Serve until it is ready, stops it, and returns its log
// records at info and above, and the address it listened on.
func startAndStop(t *testing.T, cfg *config.Config) (records []map[string]any, text, addr string) {
	t.Helper()
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, cfg, log, ready) }()
	select {
	case addr = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("Serve: %v\n%s", err, logs)
	case <-time.After(30 * time.Second):
		t.Fatal("Serve did not become ready")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	text = logs.String()
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("log line is not JSON: %s", sc.Text())
		}
		records = append(records, rec)
	}
	return records, text, addr
}

func withMessage(records []map[string]any, msg string) []map[string]any {
	var out []map[string]any
	for _, r := range records {
		if r["msg"] == msg {
			out = append(out, r)
		}
	}
	return out
}

const generatedMsg = "generated a new key file: back it up with the data directory"

// The first start on a fresh data directory says where it serves from and
// which key files it generated; the second start generates none. The logs
// never hold the keys or the token.
func TestStartLogsNameTheStoreAndGeneratedKeyFiles(t *testing.T) {
	dir := t.TempDir()
	cfg := logServeConfig(t, "--data-dir", dir)
	records, text, addr := startAndStop(t, cfg)

	serving := withMessage(records, "hookd serving")
	if len(serving) != 1 {
		t.Fatalf("%d 'hookd serving' lines:\n%s", len(serving), text)
	}
	s := serving[0]
	if s["level"] != "INFO" || s["addr"] != addr || s["store"] != "sqlite" || s["path"] != filepath.Join(dir, "hookd.db") ||
		s["version"] != Version {
		t.Errorf("serving line = %v", s)
	}
	gen := withMessage(records, generatedMsg)
	files := map[string]bool{}
	for _, r := range gen {
		if r["level"] != "WARN" || r["needed_for"] == "" || r["needed_for"] == nil {
			t.Errorf("generated line = %v", r)
		}
		files[r["file"].(string)] = true
	}
	want := map[string]bool{filepath.Join(dir, "master.key"): true, filepath.Join(dir, "jwt-secret"): true}
	if len(files) != 2 || !files[filepath.Join(dir, "master.key")] || !files[filepath.Join(dir, "jwt-secret")] {
		t.Fatalf("generated files logged: %v, want %v", files, want)
	}
	for path := range want {
		secret, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(text, strings.TrimSpace(string(secret))) {
			t.Fatalf("the content of %s appears in the logs", path)
		}
	}
	if strings.Contains(text, cfg.IngestToken) {
		t.Fatal("the ingest token appears in the logs")
	}

	records, text, _ = startAndStop(t, logServeConfig(t, "--data-dir", dir))
	if gen := withMessage(records, generatedMsg); len(gen) != 0 {
		t.Fatalf("the second start says it generated key files:\n%s", text)
	}
	if len(withMessage(records, "hookd serving")) != 1 {
		t.Fatalf("no serving line on the second start:\n%s", text)
	}
}

// A secret given on the command line is not generated, so not announced.
func TestStartLogsOnlyTheFilesGenerated(t *testing.T) {
	dir := t.TempDir()
	records, text, _ := startAndStop(t, logServeConfig(t, "--data-dir", dir, "--jwt-secret", "given-jwt-secret-0123456789abcdefgh"))
	gen := withMessage(records, generatedMsg)
	if len(gen) != 1 || gen[0]["file"] != filepath.Join(dir, "master.key") {
		t.Fatalf("generated lines = %v, want master.key only", gen)
	}
	if strings.Contains(text, "given-jwt-secret") {
		t.Fatal("the JWT secret appears in the logs")
	}
}

// The PostgreSQL URL is logged without its password or query parameters.
func TestStoreAttrsHideCredentials(t *testing.T) {
	cfg := &config.Config{Database: "postgres://hookd:s3cret@db.example:5432/hookd?sslmode=require&password=other"}
	attrs := storeAttrs(cfg)
	got := map[string]any{}
	for i := 0; i+1 < len(attrs); i += 2 {
		got[attrs[i].(string)] = attrs[i+1]
	}
	want := map[string]any{"store": "postgres", "user": "hookd", "host": "db.example:5432", "database": "hookd"}
	if len(got) != len(want) {
		t.Fatalf("attrs = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}
