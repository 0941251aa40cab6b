package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/secretbox"
	"github.com/hookd/hookd/webhooksig"
)

// hookdBin is the binary under test, built once by TestMain.
var hookdBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hookd-e2e")
	if err != nil {
		panic(err)
	}
	hookdBin = filepath.Join(dir, "hookd")
	build := exec.Command("go", "build", "-o", hookdBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building hookd:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// storeConfig names one backend; resolve makes its flags: SQLite in a temp
// dir, or PostgreSQL in a fresh database schema.
type storeConfig struct {
	name string
}

func storeConfigs(t *testing.T) []storeConfig {
	cfgs := []storeConfig{{name: "sqlite"}}
	if url := os.Getenv("HOOKD_TEST_DATABASE_URL"); url != "" {
		cfgs = append(cfgs, storeConfig{name: "postgres"})
	} else {
		t.Log("HOOKD_TEST_DATABASE_URL is not set: PostgreSQL variants skipped")
	}
	return cfgs
}

// resolve makes concrete flags for one test: a data dir, or a fresh schema
// (search_path in the URL) with shared keys.
func (c storeConfig) resolve(t *testing.T) []string {
	dataDir := t.TempDir()
	if c.name == "sqlite" {
		return []string{"--data-dir", dataDir}
	}
	url := freshSchemaURL(t)
	key, err := secretbox.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return []string{"--data-dir", dataDir, "--database", url, "--master-key", key, "--jwt-secret", "e2e-jwt-secret-0123456789abcdefghij"}
}

// receiver is an HTTPS endpoint on loopback that verifies signatures and
// counts deliveries by X-Webhook-Delivery.
type receiver struct {
	srv    *httptest.Server
	caFile string

	mu       sync.Mutex
	secret   string
	status   int // answer; 0 means 200
	got      []received
	byID     map[string]int
	badSigs  int
	notified chan struct{}
}

type received struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{byID: map[string]int{}, notified: make(chan struct{}, 1)}
	r.srv = httptest.NewUnstartedServer(http.HandlerFunc(r.serve))
	r.srv.EnableHTTP2 = true
	r.srv.StartTLS()
	t.Cleanup(r.srv.Close)
	r.caFile = filepath.Join(t.TempDir(), "ca.pem")
	cert := r.srv.Certificate()
	if err := os.WriteFile(r.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	if r.secret != "" && webhooksig.Verify(r.secret, body, req.Header.Get(webhooksig.Header)) != nil {
		r.badSigs++
	}
	r.got = append(r.got, received{header: req.Header.Clone(), body: body})
	r.byID[req.Header.Get("X-Webhook-Delivery")]++
	status := r.status
	r.mu.Unlock()
	select {
	case r.notified <- struct{}{}:
	default:
	}
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
}

func (r *receiver) url(path string) string { return r.srv.URL + path }

func (r *receiver) unique() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.byID)
}

// hookd is one running `hookd serve` child process.
type hookd struct {
	t     *testing.T
	cmd   *exec.Cmd
	base  string
	logMu sync.Mutex
	logs  *bytes.Buffer
	done  chan error
}

// logText is everything hookd printed so far.
func (h *hookd) logText() string {
	h.logMu.Lock()
	defer h.logMu.Unlock()
	return h.logs.String()
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startHookd runs `hookd serve` with args and waits for /readyz.
func startHookd(t *testing.T, args ...string) *hookd {
	t.Helper()
	return startHookdAt(t, freePort(t), args...)
}

// startHookdAt is startHookd on a given address (a restart on the same one).
func startHookdAt(t *testing.T, addr string, args ...string) *hookd {
	t.Helper()
	full := append([]string{"serve", "--addr", addr}, args...)
	cmd := exec.Command(hookdBin, full...)
	cmd.Env = append(os.Environ(), "HOOKD_LOG_LEVEL=debug")
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	h := &hookd{t: t, cmd: cmd, base: "http://" + addr, logs: &bytes.Buffer{}, done: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			h.logMu.Lock()
			h.logs.WriteString(sc.Text() + "\n")
			h.logMu.Unlock()
		}
	}()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { h.done <- cmd.Wait(); pw.Close() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-h.done
		}
		if t.Failed() {
			t.Logf("hookd logs:\n%s", h.logText())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-h.done:
			t.Fatalf("hookd exited early: %v\n%s", err, h.logText())
		default:
		}
		if res, err := http.Get(h.base + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return h
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("hookd did not become ready\n%s", h.logText())
	return nil
}

func (h *hookd) kill9() {
	_ = h.cmd.Process.Kill()
	<-h.done
}

// stop sends SIGTERM and returns the exit error (nil for exit status 0).
func (h *hookd) stop() error {
	_ = h.cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-h.done:
		return err
	case <-time.After(30 * time.Second):
		h.t.Fatal("hookd did not stop within 30s of the signal")
		return nil
	}
}

// admin runs an administration subcommand and decodes its JSON answer.
func admin(t *testing.T, storeArgs []string, args ...string) map[string]string {
	t.Helper()
	cmd := exec.Command(hookdBin, append(args, storeArgs...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("hookd %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	var m map[string]string
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		t.Fatalf("hookd %s printed %q: %v", strings.Join(args, " "), out.String(), err)
	}
	return m
}

// call makes one API request and decodes a JSON object answer.
func call(t *testing.T, method, url, bearer, team string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if team != "" {
		req.Header.Set("X-Team-ID", team)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	var m map[string]any
	if len(data) > 0 {
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("%s %s: answer is not a JSON object: %s", method, url, data)
		}
	}
	return res.StatusCode, m
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out after %v waiting for %s", timeout, what)
}
