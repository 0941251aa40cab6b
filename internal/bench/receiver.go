package bench

import (
	"io"
	"net/http"
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

// receiver is the HTTPS endpoint every scenario delivers to. Each webhook
// has its own path and secret (an endpoint); the receiver verifies every
// signature, counts unique X-Webhook-Delivery ids and, when asked, records
// when each X-Webhook-Event-ID first arrived.
type receiver struct {
	tls    *loopbacktls.Server
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

// startReceiver listens on 127.0.0.1:0 and writes its CA certificate into dir.
func startReceiver(dir string, errorLog io.Writer) (*receiver, error) {
	r := &receiver{endpoints: map[string]*endpoint{}}
	for i := range r.seen {
		r.seen[i].deliveries = map[uuid.UUID]struct{}{}
		r.seen[i].arrivals = map[uuid.UUID]int64{}
	}
	srv, err := loopbacktls.Start(dir, "bench receiver", http.HandlerFunc(r.serveHTTP), errorLog)
	if err != nil {
		return nil, err
	}
	r.tls, r.base, r.caFile = srv, srv.URL, srv.CAFile
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
	Requests, Unique, Duplicates, BadSignatures, Malformed int64
}

func (r *receiver) counters() counters {
	return counters{
		Requests: r.requests.Load(), Unique: r.unique.Load(), Duplicates: r.duplicates.Load(),
		BadSignatures: r.badSig.Load(), Malformed: r.malformed.Load(),
	}
}

func (c counters) minus(o counters) counters {
	return counters{
		Requests: c.Requests - o.Requests, Unique: c.Unique - o.Unique, Duplicates: c.Duplicates - o.Duplicates,
		BadSignatures: c.BadSignatures - o.BadSignatures, Malformed: c.Malformed - o.Malformed,
	}
}

// close stops the server at once and waits for its loop to end.
func (r *receiver) close() error { return r.tls.Close() }
