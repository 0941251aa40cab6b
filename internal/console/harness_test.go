package console_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/loopbacktls"
	"github.com/hookd/hookd/webhooksig"
)

// The browser tests drive the console in headless Chromium against a real
// `hookd serve` child process (built once from ./cmd/hookd) and an HTTPS
// receiver on loopback, bootstrapped with the administration commands, the
// way an operator would.

var (
	buildDir  string
	buildOnce = sync.OnceValues(buildHookd)
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// buildHookd builds the binary the first time a browser test needs it, so a
// run that skips them does not pay for the build.
func buildHookd() (string, error) {
	dir, err := os.MkdirTemp("", "hookd-console-test")
	if err != nil {
		return "", err
	}
	buildDir = dir
	bin := filepath.Join(dir, "hookd")
	var out bytes.Buffer
	build := exec.Command("go", "build", "-o", bin, "github.com/hookd/hookd/cmd/hookd")
	build.Stdout, build.Stderr = &out, &out
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("building hookd: %v\n%s", err, out.String())
	}
	return bin, nil
}

// receiver is the webhooks' HTTPS endpoint. /flaky answers 503 to the first
// attempt of each delivery and 200 to the next, /down always 500, anything
// else 200. It records every request and checks signatures once a secret is
// set.
type receiver struct {
	*loopbacktls.Server
	mu      sync.Mutex
	secret  string
	got     []receivedRequest
	tries   map[string]int
	badSigs int
}

type receivedRequest struct {
	path   string
	header http.Header
	body   []byte
}

func startReceiver(t *testing.T) *receiver {
	r := &receiver{tries: map[string]int{}}
	srv, err := loopbacktls.Start(t.TempDir(), "receiver", http.HandlerFunc(r.serve), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	r.Server = srv
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	id := req.Header.Get("X-Webhook-Delivery")
	r.mu.Lock()
	if r.secret != "" && webhooksig.Verify(r.secret, body, req.Header.Get(webhooksig.Header)) != nil {
		r.badSigs++
	}
	r.got = append(r.got, receivedRequest{path: req.URL.Path, header: req.Header.Clone(), body: body})
	r.tries[id]++
	try := r.tries[id]
	r.mu.Unlock()
	switch {
	case req.URL.Path == "/down":
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, "receiver is down")
	case req.URL.Path == "/flaky" && try == 1:
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `{"error":"receiver busy, try again"}`)
	default:
		_, _ = io.WriteString(w, `{"received":true}`)
	}
}

func (r *receiver) setSecret(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secret = s
}

// requests returns what arrived for one delivery id.
func (r *receiver) requests(deliveryID string) []receivedRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []receivedRequest
	for _, g := range r.got {
		if g.header.Get("X-Webhook-Delivery") == deliveryID {
			out = append(out, g)
		}
	}
	return out
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

func (r *receiver) badSignatures() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.badSigs
}

// hookd is a running `hookd serve` with one team: an admin user (JWT), a
// viewer with a device key, and an integration key.
type hookd struct {
	t           *testing.T
	base        string // http://127.0.0.1:port
	dataDir     string
	ingestToken string
	team        string
	adminJWT    string
	skKey       string
	viewerKey   string
	rcv         *receiver
	stop        func() // SIGTERM, and wait for the exit
}

func startHookd(t *testing.T) *hookd {
	t.Helper()
	findChromium(t) // skip or fail before paying for hookd
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	h := &hookd{t: t, dataDir: t.TempDir(), ingestToken: "console-test-ingest-token-0123456789", rcv: startReceiver(t)}
	h.team = h.admin(bin, "team", "create", "--name", "Console team", "--init")["id"]
	adminUser, viewerUser := "019c0000-0000-7000-8000-00000000a001", "019c0000-0000-7000-8000-00000000b002"
	h.admin(bin, "member", "add", "--team", h.team, "--user", adminUser, "--role", "admin")
	h.admin(bin, "member", "add", "--team", h.team, "--user", viewerUser, "--role", "viewer")
	h.adminJWT = h.admin(bin, "token", "--user", adminUser, "--ttl", "1h")["token"]
	h.skKey = h.admin(bin, "credential", "create", "--team", h.team, "--kind", "integration", "--name", "console test")["raw_key"]
	h.viewerKey = h.admin(bin, "credential", "create", "--team", h.team, "--kind", "device", "--user", viewerUser, "--name", "viewer laptop")["raw_key"]

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	h.base = "http://" + addr
	cmd := exec.Command(bin, "serve", "--addr", addr, "--data-dir", h.dataDir, "--ingest-token", h.ingestToken,
		"--allow-cidr", "127.0.0.0/8", "--ca-file", h.rcv.CAFile, "--retry-schedule", "1s")
	cmd.Env = append(os.Environ(), "HOOKD_LOG_LEVEL=debug")
	var logMu sync.Mutex
	var logs bytes.Buffer
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			logMu.Lock()
			logs.WriteString(sc.Text() + "\n")
			logMu.Unlock()
		}
	}()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait(); pw.Close() }()
	var stopOnce sync.Once
	h.stop = func() {
		stopOnce.Do(func() {
			_ = cmd.Process.Signal(os.Interrupt)
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				<-done
			}
		})
	}
	t.Cleanup(func() {
		h.stop()
		if t.Failed() {
			logMu.Lock()
			t.Logf("hookd logs:\n%s", logs.String())
			logMu.Unlock()
		}
	})
	for deadline := time.Now().Add(20 * time.Second); ; {
		if res, err := http.Get(h.base + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return h
			}
		}
		select {
		case err := <-done:
			done <- err // for stop
			t.Fatalf("hookd exited: %v\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("hookd did not become ready\n%s", logs.String())
		}
		time.Sleep(30 * time.Millisecond)
	}
}

// admin runs an administration command on the data directory.
func (h *hookd) admin(bin string, args ...string) map[string]string {
	h.t.Helper()
	cmd := exec.Command(bin, append(args, "--data-dir", h.dataDir)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		h.t.Fatalf("hookd %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	var m map[string]string
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		h.t.Fatalf("hookd %s printed %q", strings.Join(args, " "), out.String())
	}
	return m
}

// call is one API request with an API key; it returns the status and the
// decoded JSON object (nil for an empty body).
func (h *hookd) call(key, method, path string, body any) (int, map[string]any) {
	h.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequestWithContext(context.Background(), method, h.base+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if !strings.HasPrefix(key, "sk-") && !strings.HasPrefix(key, "dk-") {
		req.Header.Set("X-Team-ID", h.team)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	var m map[string]any
	if len(data) > 0 {
		if err := json.Unmarshal(data, &m); err != nil {
			h.t.Fatalf("%s %s: %s", method, path, data)
		}
	}
	return res.StatusCode, m
}

// createWebhook makes a webhook with the integration key and returns its
// id and secret.
func (h *hookd) createWebhook(name, path string) (id, secret string) {
	h.t.Helper()
	status, m := h.call(h.skKey, "POST", "/api/v1/webhooks", map[string]any{
		"display_name": name, "webhook_url": h.rcv.URL + path, "webhook_events": []string{"task.completed", "task.failed"},
	})
	if status != http.StatusCreated {
		h.t.Fatalf("creating webhook %q: %d %v", name, status, m)
	}
	return m["id"].(string), m["webhook_secret"].(string)
}

// ingest reports a finished task through the ingest API, as the task
// runtime does.
func (h *hookd) ingest(taskID string, output string) {
	h.t.Helper()
	body := `{"team_id":"` + h.team + `","task_id":"` + taskID + `","task_status":"completed","task_output":` + output + `}`
	req, _ := http.NewRequest("POST", h.base+"/internal/v1/task-events", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+h.ingestToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	data, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		h.t.Fatalf("ingest: %d %s", res.StatusCode, data)
	}
}

// deliveries lists a webhook's deliveries through the API.
func (h *hookd) deliveries(webhookID string) []map[string]any {
	h.t.Helper()
	status, m := h.call(h.skKey, "GET", "/api/v1/webhooks/"+webhookID+"/deliveries", nil)
	if status != 200 {
		h.t.Fatalf("listing deliveries: %d %v", status, m)
	}
	var out []map[string]any
	for _, d := range m["delivery_list"].([]any) {
		out = append(out, d.(map[string]any))
	}
	return out
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
	}
}
