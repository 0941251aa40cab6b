package main

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/loopbacktls"
	"github.com/hookd/hookd/webhooksig"
)

// The fault suite's receiver: one HTTPS server (HTTP/1.1 only, so that a
// handler can take the connection over and misbehave at the TCP level) whose
// paths each answer in their own way. It records every request it sees with
// the moment it arrived, and knows every webhook's secret by path, so it
// verifies every signature.

// receipt is one request that reached the receiver.
type receipt struct {
	at       time.Time // arrival (headers and body read)
	path     string
	delivery string // X-Webhook-Delivery
	task     string // task_id of the body
	status   int    // the answer; 0 while unanswered or when none was sent
	aborted  bool   // hookd went away before the answer (killed, timed out)
}

// behaviour answers one request; it returns the status sent, or 0 when it
// sent none (the connection was cut, hijacked or abandoned by hookd).
type behaviour func(w http.ResponseWriter, r *http.Request) int

type faultReceiver struct {
	t      *testing.T
	srv    *httptest.Server
	caFile string

	mu       sync.Mutex
	secrets  map[string]string // path → webhook secret
	paths    map[string]behaviour
	receipts []*receipt
	badSigs  int
	// arrivals and answers are signalled without blocking, for tests that
	// act at such a moment (a kill during an attempt or an outcome write).
	arrivals chan struct{}
	answers  chan struct{}
}

func newFaultReceiver(t *testing.T) *faultReceiver {
	r := &faultReceiver{t: t, secrets: map[string]string{}, paths: map[string]behaviour{},
		arrivals: make(chan struct{}, 1), answers: make(chan struct{}, 1)}
	cert, caPEM, err := loopbacktls.NewCert("fault receiver", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r.srv = httptest.NewUnstartedServer(http.HandlerFunc(r.serve))
	r.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	r.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	r.srv.StartTLS()
	t.Cleanup(r.srv.Close)
	r.caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(r.caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *faultReceiver) url(path string) string { return r.srv.URL + path }

// handle sets how path answers.
func (r *faultReceiver) handle(path string, b behaviour) {
	r.mu.Lock()
	r.paths[path] = b
	r.mu.Unlock()
}

func (r *faultReceiver) setSecret(path, secret string) {
	r.mu.Lock()
	r.secrets[path] = secret
	r.mu.Unlock()
}

func (r *faultReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return
	}
	var fields struct {
		TaskID string `json:"task_id"`
	}
	_ = json.Unmarshal(body, &fields)
	rc := &receipt{at: time.Now(), path: req.URL.Path, delivery: req.Header.Get("X-Webhook-Delivery"), task: fields.TaskID}
	r.mu.Lock()
	if secret, ok := r.secrets[req.URL.Path]; !ok || webhooksig.Verify(secret, body, req.Header.Get(webhooksig.Header)) != nil {
		r.badSigs++
	}
	r.receipts = append(r.receipts, rc)
	b := r.paths[req.URL.Path]
	r.mu.Unlock()
	notify(r.arrivals)
	status := http.StatusNotFound
	if b != nil {
		status = b(w, req)
	} else {
		w.WriteHeader(status)
	}
	aborted := status == 0 || req.Context().Err() != nil
	r.mu.Lock()
	rc.status, rc.aborted = status, aborted
	r.mu.Unlock()
	if !aborted {
		notify(r.answers)
	}
}

func notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// snapshot copies the receipts so far.
func (r *faultReceiver) snapshot() []receipt {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]receipt, len(r.receipts))
	for i, rc := range r.receipts {
		out[i] = *rc
	}
	return out
}

func (r *faultReceiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.receipts)
}

func (r *faultReceiver) badSignatures() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.badSigs
}

// okTasks is the set of task ids that got a 2xx answer, and in how many
// receipts.
func okTasks(rs []receipt) map[string]int {
	m := map[string]int{}
	for _, rc := range rs {
		if rc.status >= 200 && rc.status < 300 {
			m[rc.task]++
		}
	}
	return m
}

// onPath keeps the receipts of one path, in arrival order.
func onPath(rs []receipt, path string) []receipt {
	var out []receipt
	for _, rc := range rs {
		if rc.path == path {
			out = append(out, rc)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].at.Before(out[j].at) })
	return out
}

// Behaviours.

func answer(status int, header ...string) behaviour {
	return func(w http.ResponseWriter, _ *http.Request) int {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(status)
		return status
	}
}

// answerAfter answers 200 after a pause of pause(): an endpoint that keeps
// attempts in flight, so that a kill finds some.
func answerAfter(pause func() time.Duration) behaviour {
	return func(w http.ResponseWriter, r *http.Request) int {
		select {
		case <-time.After(pause()):
		case <-r.Context().Done():
			return 0
		}
		w.WriteHeader(http.StatusOK)
		return http.StatusOK
	}
}

// hang never answers; hookd's timeout ends the attempt.
func hang(w http.ResponseWriter, r *http.Request) int {
	<-r.Context().Done()
	return 0
}

// trickleHeaders sends a status line and headers one byte every 250 ms, so
// the response never completes within the delivery timeout although bytes
// keep coming.
func trickleHeaders(w http.ResponseWriter, r *http.Request) int {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return 0
	}
	defer conn.Close()
	_ = buf.Flush()
	head := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Slow: " + strings.Repeat("a", 200) + "\r\n\r\nok"
	for i := 0; i < len(head); i++ {
		_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
		if _, err := conn.Write([]byte{head[i]}); err != nil {
			return 0
		}
		time.Sleep(250 * time.Millisecond)
	}
	return 0
}

// hugeBody answers 200 with a body of size bytes, written as long as hookd
// reads (it reads at most 4 KiB and closes).
func hugeBody(size int) behaviour {
	chunk := make([]byte, 64<<10)
	for i := range chunk {
		chunk[i] = 'x'
	}
	return func(w http.ResponseWriter, _ *http.Request) int {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", itoa(size))
		w.WriteHeader(http.StatusOK)
		for sent := 0; sent < size; sent += len(chunk) {
			if _, err := w.Write(chunk[:min(len(chunk), size-sent)]); err != nil {
				break
			}
		}
		return http.StatusOK
	}
}

// resetConn reads the request and cuts the connection with a TCP RST.
func resetConn(w http.ResponseWriter, _ *http.Request) int {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return 0
	}
	var tcp *net.TCPConn
	switch c := conn.(type) {
	case *tls.Conn:
		tcp, _ = c.NetConn().(*net.TCPConn)
	case *net.TCPConn:
		tcp = c
	}
	if tcp == nil {
		_ = conn.Close()
		return 0
	}
	// Close the TCP connection itself: closing the TLS one would first
	// send a close_notify alert, a clean end rather than a reset.
	_ = tcp.SetLinger(0)
	_ = tcp.Close()
	return 0
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// untrustedServer is an HTTPS endpoint whose certificate hookd was not given.
func untrustedServer(t *testing.T) *httptest.Server {
	cert, _, err := loopbacktls.NewCert("untrusted", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(200) }))
	s.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}
