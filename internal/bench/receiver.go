package bench

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/hookd/hookd/internal/loopbacktls"
	"github.com/hookd/hookd/webhooksig"
)

// maxBody bounds what the receiver reads of one request.
const maxBody = 1 << 20

// seenShards spreads the unique-id sets over several locks: every request
// touches one, and the receiver runs on every core.
const seenShards = 64

// Receiver protocols (--receiver-http).
const (
	ReceiverHTTP2  = "2"   // HTTP/2 offered through ALPN, HTTP/1.1 accepted
	ReceiverHTTP11 = "1.1" // HTTP/1.1 only: ALPN offers nothing else
)

// receiver is the HTTPS endpoint every scenario delivers to. Each webhook
// has its own path and secret (an endpoint); the receiver verifies every
// signature, counts unique X-Webhook-Delivery ids and, when asked, records
// when each X-Webhook-Event-ID first arrived. It also counts TLS handshakes
// and requests per HTTP version, which is how connection churn shows.
type receiver struct {
	srv    *http.Server
	done   chan struct{}
	base   string // https://127.0.0.1:port
	caFile string

	mu        sync.RWMutex
	endpoints map[string]*endpoint // by path

	seen [seenShards]seenShard

	requests   atomic.Int64 // every request, whatever its fate
	unique     atomic.Int64 // new delivery ids with a valid signature
	duplicates atomic.Int64 // a delivery id seen before (at-least-once repeats)
	badSig     atomic.Int64 // missing, malformed or wrong signatures
	malformed  atomic.Int64 // unknown path or missing/invalid id headers
	lastNew    atomic.Int64 // UnixNano of the latest new delivery
	handshakes atomic.Int64 // TLS ClientHellos: one per new connection
	http1      atomic.Int64 // requests that arrived over HTTP/1.x
	http2      atomic.Int64 // requests that arrived over HTTP/2
}

type seenShard struct {
	mu         sync.Mutex
	deliveries map[uuid.UUID]struct{}
	arrivals   map[uuid.UUID]int64 // event id -> UnixNano of its first delivery
}

// endpoint is one webhook's path on the receiver.
type endpoint struct {
	path    string
	secret  atomic.Pointer[string]
	gate    atomic.Pointer[gate] // nil: answer at once
	unique  atomic.Int64
	lastNew atomic.Int64 // UnixNano of this endpoint's latest new delivery
}

// gate holds requests until open is closed; then they are answered with
// status (200: processed and counted as usual; anything else: refused
// without being counted). A request whose client gives up first is
// abandoned — that is what "hangs until the timeout" looks like.
type gate struct {
	open   chan struct{}
	status int
}

// startReceiver listens on 127.0.0.1:0 with a certificate made for the run,
// writes its CA certificate into dir, and speaks proto (ReceiverHTTP2 or
// ReceiverHTTP11).
func startReceiver(dir, proto string, errorLog io.Writer) (*receiver, error) {
	r := &receiver{endpoints: map[string]*endpoint{}, done: make(chan struct{})}
	for i := range r.seen {
		r.seen[i].deliveries = map[uuid.UUID]struct{}{}
		r.seen[i].arrivals = map[uuid.UUID]int64{}
	}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	nextProtos := []string{"http/1.1"}
	switch proto {
	case ReceiverHTTP2, "":
		protocols.SetHTTP2(true)
		nextProtos = []string{"h2", "http/1.1"}
	case ReceiverHTTP11:
	default:
		return nil, fmt.Errorf("bench: receiver HTTP version %q (want %s or %s)", proto, ReceiverHTTP11, ReceiverHTTP2)
	}
	cert, caPEM, err := loopbacktls.NewCert("bench receiver", time.Now())
	if err != nil {
		return nil, fmt.Errorf("making the receiver certificate: %w", err)
	}
	r.caFile = filepath.Join(dir, "receiver-ca.pem")
	if err := os.WriteFile(r.caFile, caPEM, 0o600); err != nil {
		return nil, fmt.Errorf("writing the receiver CA: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("starting the receiver: %w", err)
	}
	r.base = "https://" + ln.Addr().String()
	r.srv = &http.Server{
		Handler:   http.HandlerFunc(r.serveHTTP),
		Protocols: &protocols,
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: nextProtos,
			// Called once per ClientHello, that is once per handshake.
			GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
				r.handshakes.Add(1)
				return nil, nil
			},
		},
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(errorLog, "bench receiver: ", 0),
	}
	go func() {
		defer close(r.done)
		_ = r.srv.ServeTLS(ln, "", "") // http.ErrServerClosed on close
	}()
	return r, nil
}

// addEndpoint registers path; its secret is set once the API returned it.
func (r *receiver) addEndpoint(path string) *endpoint {
	ep := &endpoint{path: path}
	empty := ""
	ep.secret.Store(&empty)
	r.mu.Lock()
	r.endpoints[path] = ep
	r.mu.Unlock()
	return ep
}

func (r *receiver) url(ep *endpoint) string { return r.base + ep.path }

func (ep *endpoint) setSecret(s string) { ep.secret.Store(&s) }

// hold makes ep hold every request until the returned function is called;
// held requests are then answered with status.
func (ep *endpoint) hold(status int) (release func()) {
	g := &gate{open: make(chan struct{}), status: status}
	ep.gate.Store(g)
	var once sync.Once
	return func() {
		once.Do(func() {
			ep.gate.Store(nil)
			close(g.open)
		})
	}
}

func (r *receiver) serveHTTP(w http.ResponseWriter, req *http.Request) {
	r.requests.Add(1)
	if req.ProtoMajor == 2 {
		r.http2.Add(1)
	} else {
		r.http1.Add(1)
	}
	r.mu.RLock()
	ep := r.endpoints[req.URL.Path]
	r.mu.RUnlock()
	if ep == nil || req.Method != http.MethodPost {
		r.malformed.Add(1)
		http.Error(w, "no such endpoint", http.StatusNotFound)
		return
	}
	if g := ep.gate.Load(); g != nil {
		select {
		case <-g.open:
			if g.status != http.StatusOK {
				w.WriteHeader(g.status)
				return
			}
		case <-req.Context().Done():
			return // the client gave up: an abandoned (timed-out) attempt
		}
	}
	body, err := webhooksig.VerifyRequest(req, *ep.secret.Load(), maxBody)
	if err != nil {
		r.badSig.Add(1)
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return
	}
	_ = body
	delivery, err1 := uuid.Parse(req.Header.Get("X-Webhook-Delivery"))
	event, err2 := uuid.Parse(req.Header.Get("X-Webhook-Event-ID"))
	if err1 != nil || err2 != nil {
		r.malformed.Add(1)
		http.Error(w, "missing delivery or event id", http.StatusBadRequest)
		return
	}
	now := time.Now().UnixNano()
	if r.record(delivery, event, now) {
		ep.unique.Add(1)
		ep.lastNew.Store(now)
		r.unique.Add(1)
		r.lastNew.Store(now)
	} else {
		r.duplicates.Add(1)
	}
	w.WriteHeader(http.StatusNoContent)
}

// record notes a delivery and its event's first arrival; false: the
// delivery id was seen before.
func (r *receiver) record(delivery, event uuid.UUID, at int64) bool {
	sh := &r.seen[delivery[15]%seenShards]
	sh.mu.Lock()
	_, dup := sh.deliveries[delivery]
	if !dup {
		sh.deliveries[delivery] = struct{}{}
	}
	sh.mu.Unlock()
	if dup {
		return false
	}
	sh = &r.seen[event[15]%seenShards]
	sh.mu.Lock()
	if _, ok := sh.arrivals[event]; !ok {
		sh.arrivals[event] = at
	}
	sh.mu.Unlock()
	return true
}

// firstArrival is when event was first delivered.
func (r *receiver) firstArrival(event uuid.UUID) (time.Time, bool) {
	sh := &r.seen[event[15]%seenShards]
	sh.mu.Lock()
	at, ok := sh.arrivals[event]
	sh.mu.Unlock()
	return time.Unix(0, at), ok
}

// forget drops every recorded id, so one scenario's memory and figures do
// not carry into the next.
func (r *receiver) forget() {
	for i := range r.seen {
		sh := &r.seen[i]
		sh.mu.Lock()
		sh.deliveries = map[uuid.UUID]struct{}{}
		sh.arrivals = map[uuid.UUID]int64{}
		sh.mu.Unlock()
	}
	r.mu.Lock()
	r.endpoints = map[string]*endpoint{}
	r.mu.Unlock()
}

// counters is a snapshot of the receiver's tallies.
type counters struct {
	Requests, Unique, Duplicates, BadSignatures, Malformed, Handshakes, HTTP1, HTTP2 int64
}

func (r *receiver) counters() counters {
	return counters{
		Requests: r.requests.Load(), Unique: r.unique.Load(), Duplicates: r.duplicates.Load(),
		BadSignatures: r.badSig.Load(), Malformed: r.malformed.Load(), Handshakes: r.handshakes.Load(),
		HTTP1: r.http1.Load(), HTTP2: r.http2.Load(),
	}
}

func (c counters) minus(o counters) counters {
	return counters{
		Requests: c.Requests - o.Requests, Unique: c.Unique - o.Unique, Duplicates: c.Duplicates - o.Duplicates,
		BadSignatures: c.BadSignatures - o.BadSignatures, Malformed: c.Malformed - o.Malformed,
		Handshakes: c.Handshakes - o.Handshakes, HTTP1: c.HTTP1 - o.HTTP1, HTTP2: c.HTTP2 - o.HTTP2,
	}
}

// close stops the server at once, cutting open connections, and waits for
// its loop to end.
func (r *receiver) close() error {
	err := r.srv.Close()
	<-r.done
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
