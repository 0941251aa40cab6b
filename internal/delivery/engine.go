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
	// startMargin: a leased delivery starts only if its lease still has
	// Timeout plus this much left; otherwise it is released.
	startMargin = 5 * time.Second
	// defaultPoll is the safety-net poll; the wake paths do the real work.
	defaultPoll = time.Second
	// reapEvery is how often dead owners' leases are looked for.
	reapEvery = 500 * time.Millisecond
	// secretCacheSize bounds the decrypted-secret cache.
	secretCacheSize = 4096
	// maxOutcomeBatch bounds one RecordOutcomes call.
	maxOutcomeBatch = 512
	// registerRetryMax bounds the wait between tries to register anew.
	registerRetryMax = time.Second
)

// Config configures an Engine. Client and Box are required.
type Config struct {
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
	q         Queue
	cfg       Config
	log       *slog.Logger
	leaseFor  time.Duration
	pollEvery time.Duration

	sender  *sender
	lanes   *lanes
	done    *batchCompleter
	metrics *metrics
	wake    chan struct{}
	// leaseWanted is set by Wake: work may be due that no freed slot tells of.
	leaseWanted atomic.Bool
	// orphans is set when a write that may have committed leases failed
	// (an ingest or a lease round): the dispatcher then gives back every
	// lease of this owner it does not hold in memory.
	orphans atomic.Bool
	// recoveryWanted wakes the recovery converter.
	recoveryWanted chan struct{}
	// tickets maps an ingest's *store.LeaseRequest to its *ingestTicket.
	tickets sync.Map
	// failing rate-limits the "endpoint keeps failing" log line.
	failing rateLimiter

	mu       sync.Mutex // guards the fields below and workers.Add
	running  bool
	stopping bool
	member   *membership // the identity leases are taken under; nil while there is none
	inFlight map[uuid.UUID]struct{}
	// pending counts ingest tickets not yet settled: the orphan check waits
	// for them, since their leases are not in memory yet.
	pending int
	// checking makes IngestLease decline while the orphan check runs.
	checking bool
	workers  sync.WaitGroup
	// attemptCtx is the parent of every attempt: not canceled at shutdown,
	// so attempts in flight finish (each within Timeout) and are recorded.
	attemptCtx context.Context
}

// membership is one registered identity and the context of the attempts
// made under it, canceled when the identity is lost.
type membership struct {
	reg    store.Registration
	owner  string
	ctx    context.Context
	cancel context.CancelFunc
}

// New checks cfg, fills in defaults and registers the metrics.
func New(q Queue, cfg Config) (*Engine, error) {
	switch {
	case q == nil:
		return nil, errors.New("delivery: a queue (store) is required")
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
		q:              q,
		cfg:            cfg,
		log:            cfg.Logger.With("component", "delivery"),
		leaseFor:       cfg.Timeout + leaseMargin,
		pollEvery:      defaultPoll,
		metrics:        m,
		wake:           make(chan struct{}, 1),
		recoveryWanted: make(chan struct{}, 1),
		inFlight:       make(map[uuid.UUID]struct{}),
		attemptCtx:     context.Background(),
		sender: &sender{
			client:    cfg.Client,
			secrets:   newSecretCache(cfg.Box, secretCacheSize),
			userAgent: []string{cfg.UserAgent},
			timeout:   cfg.Timeout,
			now:       cfg.Now,
		},
	}
	e.failing.every = failingLogEvery
	e.done = newBatchCompleter(e, 2*max(cfg.Workers, maxOutcomeBatch), outcomeLinger)
	// Each lane may hold twice its slots in leased deliveries ahead of them,
	// and asks for more when half of that window is free: enough slack that
	// a lease round (one commit) never leaves a slot idle, and rounds that
	// lease a lane's worth of rows at a time.
	e.lanes = newLanes(cfg.Workers, cfg.PerWebhook, 2*cfg.PerWebhook, e.signal, func(n int) { m.slots.Set(float64(n)) })
	return e, nil
}

// Wake tells the dispatcher that work may be due now. It never blocks.
func (e *Engine) Wake() {
	e.leaseWanted.Store(true)
	e.signal()
}

// WakeRecoveries tells the recovery converter that a recover call was
// accepted. It never blocks.
func (e *Engine) WakeRecoveries() {
	select {
	case e.recoveryWanted <- struct{}{}:
	default:
	}
}

// signal wakes the dispatcher: a lane has room again.
func (e *Engine) signal() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Run dispatches deliveries until ctx is canceled. Then it stops leasing,
// releases the leases of deliveries not started, lets attempts in flight
// finish (each within Timeout), records every outcome, gives up its owner
// identity and returns nil.
func (e *Engine) Run(ctx context.Context) error {
	e.mu.Lock()
	if e.running || e.stopping {
		e.mu.Unlock()
		return errors.New("delivery: Run called twice")
	}
	e.running = true
	e.attemptCtx = context.WithoutCancel(ctx)
	e.mu.Unlock()

	stopCompleter := make(chan struct{})
	completerDone := make(chan struct{})
	go func() { defer close(completerDone); e.done.run(stopCompleter) }()
	var helpers sync.WaitGroup
	helpers.Go(func() { e.reapDeadOwners(ctx) })
	helpers.Go(func() { e.convertRecoveries(ctx) })

	e.dispatch(ctx)

	e.mu.Lock()
	e.stopping = true
	m := e.member
	e.mu.Unlock()
	e.releaseWindow(m)
	e.workers.Wait()
	close(stopCompleter)
	<-completerDone
	helpers.Wait()
	if m != nil {
		// The outcomes are written: the identity can go.
		_ = m.reg.Close()
		m.cancel()
	}
	e.log.Info("delivery engine stopped")
	return nil
}

// current returns the live identity, or nil.
func (e *Engine) current() *membership {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.member
}

// releaseWindow gives back the leases of deliveries waiting in the lanes'
// windows (shutdown, or lost identity: best effort, the leases are void
// soon anyway).
func (e *Engine) releaseWindow(m *membership) {
	waiting := e.lanes.drain()
	if len(waiting) == 0 || m == nil {
		return
	}
	ids := make([]uuid.UUID, len(waiting))
	for i := range waiting {
		ids[i] = waiting[i].DeliveryID
	}
	e.releaseLeases(m.owner, ids)
}

// releaseLeases gives leased but unstarted deliveries back to the queue. A
// failure only delays them: their owner's leases are voided or expire.
func (e *Engine) releaseLeases(owner string, ids []uuid.UUID) {
	ctx, cancel := context.WithTimeout(context.Background(), e.cfg.Timeout)
	defer cancel()
	if err := e.q.ReleaseLeases(ctx, owner, ids); err != nil {
		e.log.Warn("release leases failed; they will be taken over instead", "count", len(ids), "err", err)
	}
}

func (e *Engine) isStopping() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stopping
}

func (e *Engine) now() time.Time { return e.cfg.Now() }

// LeaseDuration is how long this engine's leases last: the delivery timeout
// plus a margin. No lease it takes ends later than that after it is taken.
func (e *Engine) LeaseDuration() time.Duration { return e.leaseFor }

// leaseUntil is the expiry of a lease taken now, at the precision both
// stores keep (outcomes name their lease by it).
func (e *Engine) leaseUntil(now time.Time) time.Time {
	return now.Add(e.leaseFor).Truncate(time.Microsecond).UTC()
}
