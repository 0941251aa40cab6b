package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookd/hookd/internal/secretbox"
	"github.com/hookd/hookd/internal/store"
)

// Defaults of Config.
const (
	DefaultWorkers    = 256
	DefaultPerWebhook = 16
	DefaultTimeout    = 10 * time.Second
)

const (
	// leaseMargin is added to Timeout to make a lease: an attempt started
	// with a fresh lease always ends before it, clocks a little apart.
	leaseMargin = 30 * time.Second
	// startMargin: a delivery handed over by ingest starts only if its lease
	// still has Timeout plus this much left.
	startMargin = 5 * time.Second
	// defaultPoll is the safety-net poll; the wake paths do the real work.
	defaultPoll = time.Second
	// secretCacheSize bounds the decrypted-secret cache.
	secretCacheSize = 4096
	// maxOutcomeBatch bounds one RecordOutcomes call.
	maxOutcomeBatch = 512
)

// Config configures an Engine. Owner, Client and Box are required.
type Config struct {
	Owner      string        // unique per process (e.g. hostname-pid-random)
	Workers    int           // attempts in flight in all (default 256)
	PerWebhook int           // attempts in flight per webhook (default 16)
	Timeout    time.Duration // whole attempt (default 10s)
	// Schedule: waits before retries 1…n. nil means DefaultSchedule; an
	// empty non-nil slice (ParseSchedule("")) means a single attempt.
	Schedule   []time.Duration
	Client     *http.Client   // from netguard.NewClient
	Box        *secretbox.Box // decrypts LeasedDelivery.SecretEnc
	UserAgent  string         // "hookd/<version>"
	Logger     *slog.Logger
	Registerer prometheus.Registerer // optional
	Now        func() time.Time      // optional, for tests
}

// Engine leases due deliveries and attempts them. Create it with New, run
// it with Run (once).
type Engine struct {
	st store.Store
	// combined is st when it can record outcomes and lease in one
	// transaction: then the dispatcher records outcomes in its lease rounds
	// (see leaseRound) and the outcome writer only drains at shutdown.
	combined  store.OutcomeLeaser
	cfg       Config
	log       *slog.Logger
	leaseFor  time.Duration
	pollEvery time.Duration
	userAgent []string

	lanes   *lanes
	secrets *secretCache
	metrics *metrics
	wake    chan struct{}
	// leaseWanted is set by Wake: work may be due that no outcome tells of.
	leaseWanted atomic.Bool
	outcomes    chan finished

	mu       sync.Mutex // guards running, stopping and senders.Add
	running  bool
	stopping bool
	senders  sync.WaitGroup
	// attemptCtx is the parent of every attempt: not canceled at shutdown,
	// so attempts in flight finish (each within Timeout) and are recorded.
	attemptCtx context.Context
}

// New checks cfg, fills in defaults and registers the metrics.
func New(st store.Store, cfg Config) (*Engine, error) {
	switch {
	case st == nil:
		return nil, errors.New("delivery: a store is required")
	case cfg.Owner == "":
		return nil, errors.New("delivery: Config.Owner is required")
	case cfg.Client == nil:
		return nil, errors.New("delivery: Config.Client is required")
	case cfg.Box == nil:
		return nil, errors.New("delivery: Config.Box is required")
	case cfg.Workers < 0, cfg.PerWebhook < 0, cfg.Timeout < 0:
		return nil, errors.New("delivery: Workers, PerWebhook and Timeout must not be negative")
	}
	for i, d := range cfg.Schedule {
		if d < 0 {
			return nil, fmt.Errorf("delivery: retry schedule item %d is negative", i+1)
		}
	}
	if cfg.Workers == 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.PerWebhook == 0 {
		cfg.PerWebhook = DefaultPerWebhook
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Schedule == nil {
		cfg.Schedule = DefaultSchedule
	}
	cfg.Schedule = append([]time.Duration(nil), cfg.Schedule...) // the caller's slice may change
	if cfg.UserAgent == "" {
		cfg.UserAgent = "hookd"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("delivery: register metrics: %w", err)
	}
	e := &Engine{
		st:         st,
		cfg:        cfg,
		log:        cfg.Logger.With("component", "delivery", "owner", cfg.Owner),
		leaseFor:   cfg.Timeout + leaseMargin,
		pollEvery:  defaultPoll,
		userAgent:  []string{cfg.UserAgent},
		secrets:    newSecretCache(cfg.Box, secretCacheSize),
		metrics:    m,
		wake:       make(chan struct{}, 1),
		outcomes:   make(chan finished, cfg.Workers),
		attemptCtx: context.Background(),
	}
	e.combined, _ = st.(store.OutcomeLeaser)
	e.lanes = newLanes(cfg.Workers, cfg.PerWebhook, e.signal, func(n int) { m.slots.Set(float64(n)) })
	return e, nil
}

// Wake tells the dispatcher that work may be due now. It never blocks.
func (e *Engine) Wake() {
	e.leaseWanted.Store(true)
	e.signal()
}

// signal wakes the dispatcher without asking for a lease: a finished
// attempt's outcome is waiting (see leaseRound).
func (e *Engine) signal() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Run dispatches deliveries until ctx is canceled. Then it stops leasing,
// lets attempts in flight finish (each within Timeout), releases leases of
// deliveries not started, records every outcome and returns nil.
func (e *Engine) Run(ctx context.Context) error {
	e.mu.Lock()
	if e.running || e.stopping {
		e.mu.Unlock()
		return errors.New("delivery: Run called twice")
	}
	e.running = true
	e.attemptCtx = context.WithoutCancel(ctx)
	e.mu.Unlock()

	writerDone := make(chan struct{})
	if e.combined == nil {
		go e.writeOutcomes(writerDone)
	}

	e.dispatch(ctx)
	if e.combined != nil {
		// The dispatcher recorded outcomes until now; the writer takes the
		// rest (attempts still in flight).
		go e.writeOutcomes(writerDone)
	}

	e.mu.Lock()
	e.stopping = true
	e.mu.Unlock()
	e.senders.Wait()
	close(e.outcomes)
	<-writerDone
	e.log.Info("delivery engine stopped")
	return nil
}

// IngestLease is the lease an ingest transaction may take on the deliveries
// it creates (store.IngestOptions.Lease): Admit reserves a slot in the
// webhook's lane, so only what can start at once is leased. Pass the
// result's Leased deliveries to Dispatch. Nil when the engine is not
// running: the ingest then inserts unleased rows for the dispatcher.
func (e *Engine) IngestLease() *store.LeaseRequest {
	e.mu.Lock()
	active := e.running && !e.stopping
	e.mu.Unlock()
	if !active {
		return nil
	}
	now := e.cfg.Now()
	t := &ingestTicket{until: now.Add(e.leaseFor), reserved: make(map[uuid.UUID]int)}
	return &store.LeaseRequest{
		Owner: e.cfg.Owner,
		Now:   now,
		Until: t.until,
		Admit: func(webhook uuid.UUID) bool { return e.lanes.admitIngest(t, webhook) },
	}
}

// Dispatch starts attempts of deliveries leased at ingest (with a lease
// from IngestLease). Any that cannot start now — the engine is stopping, or
// the lease is too close to its end — are released to the queue.
func (e *Engine) Dispatch(leased []store.LeasedDelivery) {
	if len(leased) == 0 {
		return
	}
	now := e.cfg.Now()
	var release []uuid.UUID
	for i := range leased {
		d := &leased[i]
		if !e.lanes.claimIngest(d.WebhookID) {
			release = append(release, d.DeliveryID)
			continue
		}
		if d.LeaseUntil.Sub(now) < e.cfg.Timeout+startMargin || !e.start(d) {
			e.lanes.release(d.WebhookID)
			release = append(release, d.DeliveryID)
			continue
		}
		e.metrics.leased.WithLabelValues("ingest").Inc()
	}
	if len(release) > 0 {
		e.releaseLeases(release)
		e.Wake()
	}
}

// start launches the attempt of d, whose slot is reserved. false: the
// engine is not running and d was not started.
func (e *Engine) start(d *store.LeasedDelivery) bool {
	e.mu.Lock()
	if !e.running || e.stopping {
		e.mu.Unlock()
		return false
	}
	e.senders.Add(1)
	e.mu.Unlock()
	go e.send(*d)
	return true
}

// releaseLeases gives leased but unstarted deliveries back to the queue. A
// failure only delays them: their leases expire.
func (e *Engine) releaseLeases(ids []uuid.UUID) {
	ctx, cancel := context.WithTimeout(context.Background(), e.cfg.Timeout)
	defer cancel()
	if err := e.st.ReleaseLeases(ctx, e.cfg.Owner, ids); err != nil {
		e.log.Warn("release leases failed; they will expire instead", "count", len(ids), "err", err)
	}
}

func (e *Engine) now() time.Time { return e.cfg.Now() }
