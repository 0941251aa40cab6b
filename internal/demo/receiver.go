package demo

import (
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/hookd/hookd/internal/loopbacktls"
)

// Receiver paths: one endpoint that always answers 200, one that fails the
// first flakyFailures attempts of every delivery.
const (
	pathSteady    = "/hooks/steady"
	pathFlaky     = "/hooks/flaky"
	flakyFailures = 2
	maxBodyRead   = 1 << 20
	caFileName    = "receiver-ca.pem"
)

// receivedRequest is one request exactly as the receiver saw it.
type receivedRequest struct {
	seq      int           // 1-based, in arrival order
	at       time.Duration // since the receiver's clock was started
	method   string
	path     string
	header   http.Header
	body     []byte
	answered int // the status code the receiver answered
}

// receiver is an HTTPS server on loopback whose certificate is signed by
// nobody but itself: hookd trusts it only because its PEM is passed as
// --ca-file, as a private deployment would do with its own CA.
type receiver struct {
	tls    *loopbacktls.Server
	base   string // https://127.0.0.1:port
	caFile string

	mu       sync.Mutex
	start    time.Time
	requests []receivedRequest
	perFlaky map[string]int // attempts seen per X-Webhook-Delivery on the flaky path
}

// startReceiver listens on 127.0.0.1:0 and writes its CA certificate into dir.
func startReceiver(dir string, errorLog io.Writer) (*receiver, error) {
	r := &receiver{start: time.Now(), perFlaky: map[string]int{}}
	srv, err := loopbacktls.Start(dir, "demo receiver", http.HandlerFunc(r.serveHTTP), errorLog)
	if err != nil {
		return nil, err
	}
	r.tls, r.base, r.caFile = srv, srv.URL, srv.CAFile
	return r, nil
}

// url is the address of one of the receiver's paths.
func (r *receiver) url(path string) string { return r.base + path }

// restartClock makes arrival times relative to now (the first ingest).
func (r *receiver) restartClock() {
	r.mu.Lock()
	r.start = time.Now()
	r.mu.Unlock()
}

func (r *receiver) serveHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, maxBodyRead))
	if err != nil {
		http.Error(w, "reading the body: "+err.Error(), http.StatusBadRequest)
		return
	}
	status, answer := http.StatusNotFound, "no such endpoint"
	r.mu.Lock()
	switch req.URL.Path {
	case pathSteady:
		status, answer = http.StatusOK, "ok"
	case pathFlaky:
		id := req.Header.Get("X-Webhook-Delivery")
		r.perFlaky[id]++
		if n := r.perFlaky[id]; n <= flakyFailures {
			status, answer = http.StatusServiceUnavailable, "failing on purpose (attempt "+strconv.Itoa(n)+")"
		} else {
			status, answer = http.StatusOK, "ok at last"
		}
	}
	r.requests = append(r.requests, receivedRequest{
		seq: len(r.requests) + 1, at: time.Since(r.start), method: req.Method, path: req.URL.Path,
		header: req.Header.Clone(), body: body, answered: status,
	})
	r.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, answer)
}

// seen returns a copy of the requests received so far, in arrival order.
func (r *receiver) seen() []receivedRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]receivedRequest(nil), r.requests...)
}

// close stops the server at once and waits for its loop to end.
func (r *receiver) close() error { return r.tls.Close() }
