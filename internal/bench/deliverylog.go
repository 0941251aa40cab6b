package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd/internal/app"
	"github.com/hookd/hookd/internal/delivery"
	"github.com/hookd/hookd/internal/payload"
	"github.com/hookd/hookd/internal/secretbox"
	"github.com/hookd/hookd/internal/store"
)

// The log scenario reads pages of one webhook's delivery log of
// LogDeliveries deliveries over HTTP. Writing a million deliveries through
// hookd would take most of the scenario's time and measure nothing new, so
// the log is written through the store by this process, before hookd opens
// it: the events in batches through IngestEvents, their deliveries leased by
// that same call and moved to their final state by RecordOutcomes, as
// hookd's own engine does; a few batches are canceled by disabling and
// re-enabling the webhook, as a user would. hookd then serves the log.

// Targets and shape of the log scenario.
const (
	targetLogP99 = 50 * time.Millisecond
	// logPerPage and logDeepPage: every kind of page is read at page 1 and
	// at page 500 of 20 (or the last page, when there are fewer).
	logPerPage  = 20
	logDeepPage = 500
	// minLogDeliveries keeps one batch of every status in the plan.
	minLogDeliveries = 100
	// logWriters is how many batches are written at once: the store's group
	// commit then shares each flush among them.
	logWriters = 4
	// logRetryIn is when the pending deliveries' next attempt is due: long
	// after the scenario, so hookd sends nothing while it is measured.
	logRetryIn = 6 * time.Hour
	logOwner   = "hookd-bench-log-populate"
)

// logPlan says which state each delivery of the log ends in. Deliveries are
// written in batches in id (time) order; the newest 4 % of the batches stay
// pending (a retry due in hours, like deliveries retrying now), 1 % of the
// batches spread over the rest are canceled (the webhook was disabled right
// after them), and of the other deliveries every 20th failed and the rest
// succeeded: about 90 % succeeded, 5 % failed, 4 % pending, 1 % canceled.
type logPlan struct {
	total, batch, batches int
	pendingFrom           int          // the first batch that stays pending
	canceled              map[int]bool // batches canceled by a disable
}

func newLogPlan(total int) logPlan {
	batch := min(max(total/100, 1), maxIngestBatch)
	batches := (total + batch - 1) / batch
	p := logPlan{total: total, batch: batch, batches: batches, canceled: map[int]bool{}}
	p.pendingFrom = batches - max(1, int(math.Round(float64(batches)*0.04)))
	cancels := max(1, int(math.Round(float64(batches)/100)))
	for k := range cancels {
		p.canceled[(2*k+1)*p.pendingFrom/(2*cancels)] = true
	}
	return p
}

// bounds are the indices [lo, hi) of batch b's deliveries.
func (p logPlan) bounds(b int) (lo, hi int) {
	return b * p.batch, min((b+1)*p.batch, p.total)
}

// status is the final state of the i-th delivery written.
func (p logPlan) status(i int) string {
	b := i / p.batch
	switch {
	case b >= p.pendingFrom:
		return store.StatusPending
	case p.canceled[b]:
		return store.StatusCanceled
	case i%20 == 19:
		return store.StatusFailed
	default:
		return store.StatusSucceeded
	}
}

// counts is how many deliveries end in each state.
func (p logPlan) counts() map[string]int {
	out := map[string]int{}
	for i := range p.total {
		out[p.status(i)]++
	}
	return out
}

// logWebhook is what populating the log leaves for the measurement.
type logWebhook struct {
	id         uuid.UUID
	tasks      []uuid.UUID // the task of the i-th delivery (one event per task)
	secs       float64     // time spent writing the log
	vacuumSecs float64     // PostgreSQL: time spent in VACUUM (ANALYZE); 0: not run
}

// runLog writes the log, starts hookd on it and reads pages of it over
// HTTP: each kind of page LogRequests times, one request at a time, the
// kinds in turn. Every answer's total_count and rows are checked.
func (env *environment) runLog(ctx context.Context) (Result, error) {
	plan := newLogPlan(env.opts.LogDeliveries)
	ep := env.rcv.addEndpoint("/log/0")
	var wh logWebhook
	opts := hookdOptions{prepare: func(ctx context.Context, s storeSetup, team uuid.UUID) error {
		var err error
		wh, err = env.populateLog(ctx, s, team, plan, ep)
		return err
	}}
	return env.withHookd(ctx, opts, "/log/", 0, func(ctx context.Context, h *hookd, _ []*endpoint) (Result, error) {
		kinds := logKinds(plan)
		var n int64
		prog := startProgress(env.opts.Progress, "log pages", int64(len(kinds)*env.opts.LogRequests), func() int64 { return atomic.LoadInt64(&n) })
		defer prog.end()
		res, err := env.measured(h, func() (Result, error) {
			start := time.Now()
			err := readLogPages(ctx, h, wh, plan, kinds, env.opts.LogRequests, func() { atomic.AddInt64(&n, 1) })
			return Result{Seconds: time.Since(start).Seconds()}, err
		})
		if err != nil {
			return res, err
		}
		res.Deliveries = int64(plan.total)
		res.LogQueries = kinds
		worst := kinds[0]
		for _, k := range kinds {
			if k.Latency.P99 > worst.Latency.P99 {
				worst = k
			}
		}
		met := worst.Latency.P99 <= ms(targetLogP99)
		res.Target, res.TargetMet = fmt.Sprintf("p99 ≤ %.0f ms for every kind", ms(targetLogP99)), &met
		c := plan.counts()
		res.Detail = fmt.Sprintf("worst p99 %.1f ms (%s, max %.1f ms); %d kinds × %d requests, one client; log of %d succeeded, %d failed, %d pending, %d canceled written through the store in %.0f s",
			worst.Latency.P99, worst.Kind, worst.Latency.Max, len(kinds), env.opts.LogRequests,
			c[store.StatusSucceeded], c[store.StatusFailed], c[store.StatusPending], c[store.StatusCanceled], wh.secs)
		switch {
		case wh.vacuumSecs > 0:
			res.Detail += fmt.Sprintf(", then VACUUM (ANALYZE) in %.0f s", wh.vacuumSecs)
		case env.postgresURL != "":
			res.Detail += ", not vacuumed (--log-no-vacuum)"
		}
		return res, nil
	})
}

// populateLog creates the webhook (for ep, with a secret the receiver
// knows) and writes plan's deliveries to it through the store, which it
// opens with the flags `hookd serve` gets and closes before returning.
func (env *environment) populateLog(ctx context.Context, s storeSetup, team uuid.UUID, plan logPlan, ep *endpoint) (wh logWebhook, err error) {
	cfg, err := serveConfig(env.serveFlags(s, hookdOptions{deliveryTimeout: delivery.DefaultTimeout, perWebhook: env.opts.Concurrency}, "127.0.0.1:0"))
	if err != nil {
		return wh, err
	}
	st, err := app.OpenStore(ctx, cfg)
	if err != nil {
		return wh, fmt.Errorf("opening the store to write the log: %w", err)
	}
	defer func() { err = errors.Join(err, st.Close()) }()
	keys, err := app.LoadKeys(ctx, cfg, st)
	if err != nil {
		return wh, err
	}
	secret, err := secretbox.GenerateSecret("whsec_", 32)
	if err != nil {
		return wh, err
	}
	w := &logWriter{st: st, team: team, plan: plan, tasks: make([]uuid.UUID, plan.total)}
	w.webhook = uuid.Must(uuid.NewV7())
	err = st.CreateWebhook(ctx, store.Webhook{
		ID: w.webhook, TeamID: team, DisplayName: "bench log", URL: env.rcv.url(ep), SecretEnc: keys.Box.Seal([]byte(secret)),
		Events: []string{"task.completed", "task.failed"}, Status: store.WebhookActive,
		CreatedAt: time.Now().UTC().Truncate(time.Microsecond),
	})
	if err != nil {
		return wh, fmt.Errorf("creating the webhook: %w", err)
	}
	ep.setSecret(secret)

	prog := startProgress(env.opts.Progress, "log populate", int64(plan.total), w.written.Load)
	defer prog.end()
	start := time.Now()
	if err := w.writeAll(ctx); err != nil {
		return wh, fmt.Errorf("writing the log: %w", err)
	}
	wh = logWebhook{id: w.webhook, tasks: w.tasks, secs: time.Since(start).Seconds()}
	if s.database != "" && !env.opts.LogNoVacuum {
		start = time.Now()
		if err := vacuumLog(ctx, s.database); err != nil {
			return wh, err
		}
		wh.vacuumSecs = time.Since(start).Seconds()
	}
	return wh, nil
}

// vacuumLog brings the tables the log was written to into the state
// autovacuum keeps them in on a deployment: statistics taken, dead row
// versions (every delivery was written pending, then updated) gone, the
// visibility map set, so that index-only scans read no table pages. It
// runs whether or not the server has autovacuum on (a test server may not);
// --log-no-vacuum skips it.
func vacuumLog(ctx context.Context, database string) error {
	conn, err := pgx.Connect(ctx, database)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, `VACUUM (ANALYZE) deliveries, events, attempts, delivery_counts`); err != nil {
		return fmt.Errorf("vacuuming the log's tables: %w", err)
	}
	return nil
}

// logWriter writes a logPlan into a store.
type logWriter struct {
	st      store.Store
	team    uuid.UUID
	webhook uuid.UUID
	plan    logPlan
	tasks   []uuid.UUID // filled by batch; batches own disjoint ranges
	written atomic.Int64
}

// writeAll writes every batch in order, logWriters at a time, except that
// a canceled batch is written alone: everything before it has reached its
// state, so the disable cancels that batch's deliveries and nothing else.
func (w *logWriter) writeAll(ctx context.Context) error {
	next := 0
	for next < w.plan.batches {
		end := next
		for end < w.plan.batches && !w.plan.canceled[end] {
			end++
		}
		if err := w.writeRange(ctx, next, end); err != nil {
			return err
		}
		if end == w.plan.batches {
			break
		}
		if err := w.writeCanceled(ctx, end); err != nil {
			return err
		}
		next = end + 1
	}
	return nil
}

// writeRange writes batches [from, to) with logWriters in flight.
func (w *logWriter) writeRange(ctx context.Context, from, to int) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	next.Store(int64(from))
	var wg sync.WaitGroup
	for range logWriters {
		wg.Go(func() {
			for ctx.Err() == nil {
				b := int(next.Add(1) - 1)
				if b >= to {
					return
				}
				if err := w.writeBatch(ctx, b); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx)
}

// events makes batch b's events, one new task each, created now.
func (w *logWriter) events(b int, now time.Time) ([]store.NewEvent, error) {
	lo, hi := w.plan.bounds(b)
	evs := make([]store.NewEvent, 0, hi-lo)
	for i := lo; i < hi; i++ {
		task := uuid.New()
		id, err := store.NewID(now)
		if err != nil {
			return nil, err
		}
		output := []byte(`{"storage_key":"tasks/` + task.String() + `/output.png","image_count":1}`)
		body, err := payload.Render("task.completed", task, "completed", output, "", now)
		if err != nil {
			return nil, err
		}
		w.tasks[i] = task
		evs = append(evs, store.NewEvent{ID: id, TeamID: w.team, TaskID: task, EventType: "task.completed",
			TaskStatus: "completed", Body: body, CreatedAt: now})
	}
	return evs, nil
}

// ingest writes evs, leased to logOwner when lease is set, and checks that
// each made one delivery.
func (w *logWriter) ingest(ctx context.Context, evs []store.NewEvent, now time.Time, lease bool) ([]store.IngestResult, error) {
	var opt store.IngestOptions
	if lease {
		opt.Lease = &store.LeaseRequest{Owner: logOwner, Now: now, Until: now.Add(time.Hour)}
	}
	res, err := w.st.IngestEvents(ctx, evs, opt)
	if err != nil {
		return nil, err
	}
	for i, r := range res {
		if r.Err != nil || r.Duplicate || r.DeliveryCount != 1 || (lease && len(r.Leased) != 1) {
			return nil, fmt.Errorf("event %d: err %v, duplicate %t, %d deliveries, %d leased", i, r.Err, r.Duplicate, r.DeliveryCount, len(r.Leased))
		}
	}
	return res, nil
}

// writeBatch ingests batch b with its deliveries leased and records one
// attempt for each that moves it to its planned state.
func (w *logWriter) writeBatch(ctx context.Context, b int) error {
	now := time.Now().UTC().Truncate(time.Microsecond)
	evs, err := w.events(b, now)
	if err != nil {
		return err
	}
	res, err := w.ingest(ctx, evs, now, true)
	if err != nil {
		return err
	}
	lo, _ := w.plan.bounds(b)
	outcomes := make([]store.Outcome, len(res))
	for k, r := range res {
		outcomes[k] = logOutcome(r.Leased[0], w.plan.status(lo+k), now)
	}
	if err := w.st.RecordOutcomes(ctx, outcomes); err != nil {
		return err
	}
	w.written.Add(int64(len(evs)))
	return nil
}

// logOutcome is one attempt that leaves d in status.
func logOutcome(d store.LeasedDelivery, status string, now time.Time) store.Outcome {
	o := store.Outcome{DeliveryID: d.DeliveryID, WebhookID: d.WebhookID, Owner: d.Owner, LeaseUntil: d.LeaseUntil,
		Attempt:    store.Attempt{DeliveryID: d.DeliveryID, AttemptNumber: 1, StartedAt: now, DurationMS: 3},
		FinishedAt: now}
	code := 200
	switch status {
	case store.StatusSucceeded:
		o.Succeeded = true
	case store.StatusPending:
		next := now.Add(logRetryIn)
		o.NextAttemptAt = &next
		code = 503
	default:
		code = 503
	}
	o.Attempt.StatusCode = &code
	if !o.Succeeded {
		o.Attempt.ResponseBody = "unavailable"
	}
	return o
}

// writeCanceled ingests batch b unleased, then disables the webhook (which
// cancels its pending deliveries: this batch's only) and enables it again.
func (w *logWriter) writeCanceled(ctx context.Context, b int) error {
	now := time.Now().UTC().Truncate(time.Microsecond)
	evs, err := w.events(b, now)
	if err != nil {
		return err
	}
	if _, err := w.ingest(ctx, evs, now, false); err != nil {
		return err
	}
	for _, status := range []string{store.WebhookDisabled, store.WebhookActive} {
		if err := w.st.UpdateWebhook(ctx, w.team, w.webhook, store.WebhookPatch{Status: &status}); err != nil {
			return fmt.Errorf("setting the webhook %s: %w", status, err)
		}
	}
	w.written.Add(int64(len(evs)))
	return nil
}
