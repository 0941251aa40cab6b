package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookd/hookd/internal/delivery"
)

// withHookd runs fn against a fresh hookd with n endpoints registered as
// webhooks of its team, then stops it. fn's context ends, with the reason,
// if hookd exits while fn runs.
func (env *environment) withHookd(ctx context.Context, opts hookdOptions, prefix string, n int,
	fn func(ctx context.Context, h *hookd, eps []*endpoint) (Result, error)) (res Result, err error) {
	if opts.deliveryTimeout == 0 {
		opts.deliveryTimeout = delivery.DefaultTimeout
	}
	opts.perWebhook = env.opts.Concurrency
	h, err := startHookd(ctx, env, opts)
	if err != nil {
		return Result{}, err
	}
	defer func() {
		if serr := h.stop(); serr != nil && err == nil {
			err = fmt.Errorf("stopping hookd: %w", serr)
		}
	}()
	eps := make([]*endpoint, n)
	for i := range eps {
		eps[i] = env.rcv.addEndpoint(prefix + strconv.Itoa(i))
	}
	// Registration runs a few requests at a time: each is a durable commit.
	errs := make(chan error, n)
	sem := make(chan struct{}, 8)
	for _, ep := range eps {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			errs <- h.createWebhook(ctx, env.rcv, ep)
		}()
	}
	var all []error
	for range eps {
		all = append(all, <-errs)
	}
	if err := errors.Join(all...); err != nil {
		return Result{}, err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil) // before stop: the watch below must not see the orderly exit
	go func() {
		select {
		case <-h.exited:
			cancel(h.exitCause())
		case <-ctx.Done():
		}
	}()
	res, err = fn(ctx, h, eps)
	if err != nil && !errors.Is(err, errHookdExited) {
		// An ingest call refused because hookd died usually fails before
		// the exit is noticed: name the exit, the real cause.
		select {
		case <-h.exited:
			err = fmt.Errorf("%w (%v)", h.exitCause(), err)
		case <-time.After(time.Second):
		}
	}
	return res, err
}

var errHookdExited = errors.New("hookd exited during the scenario")

// exitCause says why hookd exited; call it once exited is closed.
func (h *hookd) exitCause() error {
	why := h.exitErr
	if why == nil {
		why = errors.New("exit status 0")
	}
	return fmt.Errorf("%w: %v", errHookdExited, why)
}

// measured runs phase between a meter's start and finish: phase returns the
// result with Deliveries set, finish adds the CPU and RSS figures.
func (env *environment) measured(h *hookd, phase func() (Result, error)) (Result, error) {
	m, err := env.startMeter(h)
	if err != nil {
		return Result{}, err
	}
	res, err := phase()
	if err != nil {
		return res, err
	}
	return res, m.finish(&res)
}

func sumUnique(eps []*endpoint) int64 {
	var n int64
	for _, ep := range eps {
		n += ep.unique.Load()
	}
	return n
}

func lastNew(eps []*endpoint) time.Time {
	var at int64
	for _, ep := range eps {
		at = max(at, ep.lastNew.Load())
	}
	return time.Unix(0, at)
}

// expect checks that hookd reported the deliveries the scenario needs.
func expect(got, want int64) error {
	if got != want {
		return fmt.Errorf("ingest reported %d deliveries, want %d", got, want)
	}
	return nil
}

// waitDelivered waits until eps received want unique deliveries.
func waitDelivered(ctx context.Context, eps []*endpoint, want int64) error {
	if err := waitFor(ctx, func() bool { return sumUnique(eps) >= want }); err != nil {
		return fmt.Errorf("%d of %d delivered: %w", sumUnique(eps), want, err)
	}
	return nil
}

// ingestAndDrain ingests events in batches as fast as the batch API
// answers, waits until eps received want deliveries, and returns the rate
// from the first ingest request to the last new delivery.
func (env *environment) ingestAndDrain(ctx context.Context, h *hookd, eps []*endpoint, events int, want int64) (Result, error) {
	start := time.Now()
	made, err := h.ingestAll(ctx, events, env.opts.Batch, env.opts.IngestConcurrency, nil)
	ingestSecs := time.Since(start).Seconds()
	if err != nil {
		return Result{}, err
	}
	if err := expect(made, want); err != nil {
		return Result{}, err
	}
	if err := waitDelivered(ctx, eps, want); err != nil {
		return Result{}, err
	}
	secs := lastNew(eps).Sub(start).Seconds()
	return Result{Deliveries: want, Seconds: secs, PerSecond: float64(want) / secs,
		IngestPerSec: float64(events) / ingestSecs}, nil
}

// runThroughput ingests Events events for one webhook as fast as the batch
// API answers and measures unique deliveries per second, from the first
// ingest request to the last new delivery.
func (env *environment) runThroughput(ctx context.Context) (Result, error) {
	return env.withHookd(ctx, hookdOptions{}, "/throughput/", 1, func(ctx context.Context, h *hookd, eps []*endpoint) (Result, error) {
		total := int64(env.opts.Events)
		prog := startProgress(env.opts.Progress, "throughput", total, eps[0].unique.Load)
		defer prog.end()
		res, err := env.measured(h, func() (Result, error) {
			return env.ingestAndDrain(ctx, h, eps, int(total), total)
		})
		if err != nil {
			return res, err
		}
		env.ratioTo(&res, ceilingClients(ScenarioThroughput, env.opts.Concurrency, env.workers))
		res.Detail = fmt.Sprintf("1 webhook, %d in flight; ceiling with %d clients; ingest %.0f events/s",
			env.opts.Concurrency, res.Clients, res.IngestPerSec)
		return res, nil
	})
}

// runFanout8 ingests Events/8 events for a team of 8 webhooks, each event
// to all 8, and measures deliveries per second as throughput does. hookd
// may have 8 × per-webhook concurrency attempts in flight here, capped at
// its workers, and the ceiling it is compared with has that many clients.
func (env *environment) runFanout8(ctx context.Context) (Result, error) {
	events := max(env.opts.Events/fanout8Webhooks, 1)
	want := int64(events * fanout8Webhooks)
	return env.withHookd(ctx, hookdOptions{}, "/fanout8/", fanout8Webhooks, func(ctx context.Context, h *hookd, eps []*endpoint) (Result, error) {
		prog := startProgress(env.opts.Progress, "fanout8", want, func() int64 { return sumUnique(eps) })
		defer prog.end()
		res, err := env.measured(h, func() (Result, error) {
			return env.ingestAndDrain(ctx, h, eps, events, want)
		})
		if err != nil {
			return res, err
		}
		env.ratioTo(&res, ceilingClients(ScenarioFanout8, env.opts.Concurrency, env.workers))
		res.Detail = fmt.Sprintf("%d events, each to the team's %d webhooks; ceiling with %d clients = min(%d webhooks × %d, %d workers); ingest %.0f events/s",
			events, fanout8Webhooks, res.Clients, fanout8Webhooks, env.opts.Concurrency, env.workers, res.IngestPerSec)
		return res, nil
	})
}

// runLatency ingests Rate events per second for Duration (batches every
// 5 ms) and measures, per event, its first receipt minus the arrival of the
// ingest answer that accepted it, and minus the start of that ingest call.
func (env *environment) runLatency(ctx context.Context) (Result, error) {
	return env.withHookd(ctx, hookdOptions{}, "/latency/", 1, func(ctx context.Context, h *hookd, eps []*endpoint) (Result, error) {
		var mu sync.Mutex
		var batches []accepted
		onBatch := func(a accepted) {
			mu.Lock()
			batches = append(batches, a)
			mu.Unlock()
		}
		planned := int64(env.opts.Rate * env.opts.Duration.Seconds())
		prog := startProgress(env.opts.Progress, "latency", planned, eps[0].unique.Load)
		defer prog.end()
		var early int
		res, err := env.measured(h, func() (Result, error) {
			start := time.Now()
			sent, err := h.ingestAtRate(ctx, env.opts.Rate, env.opts.Duration, 5*time.Millisecond, onBatch)
			if err != nil {
				return Result{}, err
			}
			sendSecs := time.Since(start).Seconds()
			if err := waitDelivered(ctx, eps, sent); err != nil {
				return Result{}, err
			}
			var calls []ingestCall
			for _, b := range batches {
				for _, ev := range b.events {
					calls = append(calls, ingestCall{event: ev, sentAt: b.sentAt, answeredAt: b.answeredAt})
				}
			}
			res, e, err := env.latencies(calls)
			early = e
			res.Seconds, res.PerSecond = sendSecs, float64(sent)/sendSecs
			var ing []time.Duration
			for _, b := range batches {
				ing = append(ing, b.answeredAt.Sub(b.sentAt))
			}
			res.IngestLatency = summarize(ing)
			return res, err
		})
		if err != nil {
			return res, err
		}
		res.Detail = fmt.Sprintf("%.0f/s offered for %s in batches; %d of %d received before their ingest answer; ingest p99 %.1f ms",
			env.opts.Rate, env.opts.Duration, early, res.Deliveries, res.IngestLatency.P99)
		return res, nil
	})
}

// runFanout ingests one event for a team of Webhooks webhooks and measures
// the time from the ingest request until every webhook received it.
func (env *environment) runFanout(ctx context.Context) (Result, error) {
	n := env.opts.Webhooks
	return env.withHookd(ctx, hookdOptions{}, "/fanout/", n, func(ctx context.Context, h *hookd, eps []*endpoint) (Result, error) {
		var acc accepted
		res, err := env.measured(h, func() (Result, error) {
			var err error
			if acc, err = h.ingestBatch(ctx, 1); err != nil {
				return Result{}, err
			}
			if err := expect(int64(acc.deliveries), int64(n)); err != nil {
				return Result{}, err
			}
			if err := waitDelivered(ctx, eps, int64(n)); err != nil {
				return Result{}, err
			}
			secs := lastNew(eps).Sub(acc.sentAt).Seconds()
			return Result{Deliveries: int64(n), Seconds: secs, PerSecond: float64(n) / secs}, nil
		})
		res.Detail = fmt.Sprintf("1 event to %d webhooks; ingest answered in %.1f ms", n, ms(acc.answeredAt.Sub(acc.sentAt)))
		return res, err
	})
}

// runIsolation measures the nine healthy webhooks' delivery rate twice: with
// a tenth healthy webhook, then with a tenth whose endpoint hangs until
// hookd's timeout. The ratio is the second rate over the first; the CPU
// figures are the second run's.
func (env *environment) runIsolation(ctx context.Context) (Result, error) {
	healthy, err := env.isolationRun(ctx, false)
	if err != nil {
		return Result{}, fmt.Errorf("all-healthy run: %w", err)
	}
	hung, err := env.isolationRun(ctx, true)
	if err != nil {
		return Result{}, fmt.Errorf("run with a hanging endpoint: %w", err)
	}
	hung.Ratio = hung.PerSecond / healthy.PerSecond
	hung.Detail = fmt.Sprintf("9 healthy + 1 hanging webhook; all-healthy run %.0f/s", healthy.PerSecond)
	return hung, nil
}

func (env *environment) isolationRun(ctx context.Context, hang bool) (Result, error) {
	events := int64(env.opts.IsolationEvents)
	return env.withHookd(ctx, hookdOptions{}, fmt.Sprintf("/isolation-%t/", hang), isolationWebhooks,
		func(ctx context.Context, h *hookd, eps []*endpoint) (Result, error) {
			good := eps[:isolationWebhooks-1]
			if hang {
				release := eps[isolationWebhooks-1].hold(http.StatusServiceUnavailable)
				defer release() // let the hung attempts end so hookd stops at once
			}
			want := events * int64(len(good))
			name := "isolation (all healthy)"
			if hang {
				name = "isolation (one hanging)"
			}
			prog := startProgress(env.opts.Progress, name, want, func() int64 { return sumUnique(good) })
			defer prog.end()
			return env.measured(h, func() (Result, error) {
				start := time.Now()
				made, err := h.ingestAll(ctx, int(events), env.opts.Batch, env.opts.IngestConcurrency, nil)
				if err != nil {
					return Result{}, err
				}
				if err := expect(made, events*isolationWebhooks); err != nil {
					return Result{}, err
				}
				if err := waitDelivered(ctx, good, want); err != nil {
					return Result{}, err
				}
				secs := lastNew(good).Sub(start).Seconds()
				return Result{Deliveries: want, Seconds: secs, PerSecond: float64(want) / secs}, nil
			})
		})
}

// runBacklog queues BacklogEvents deliveries while the receiver does not
// answer (hookd's few in-flight attempts hang; everything else waits in the
// store), then lets it answer and measures the drain rate, and hookd's peak
// RSS and CPU over the whole scenario (queue and drain).
func (env *environment) runBacklog(ctx context.Context) (Result, error) {
	// The held attempts must not time out while the queue fills.
	opts := hookdOptions{deliveryTimeout: env.opts.Timeout}
	return env.withHookd(ctx, opts, "/backlog/", 1, func(ctx context.Context, h *hookd, eps []*endpoint) (Result, error) {
		total := int64(env.opts.BacklogEvents)
		release := eps[0].hold(http.StatusOK)
		defer release()
		if h.pid == 0 {
			resetPeakRSS(0) // in-process: the whole process's peak
		}
		var queueSecs float64
		res, err := env.measured(h, func() (Result, error) {
			var queued atomic.Int64
			prog := startProgress(env.opts.Progress, "backlog queue", total, queued.Load)
			start := time.Now()
			made, err := h.ingestAll(ctx, int(total), maxIngestBatch, env.opts.IngestConcurrency, func(a accepted) {
				queued.Add(int64(a.deliveries))
			})
			prog.end()
			if err != nil {
				return Result{}, err
			}
			if err := expect(made, total); err != nil {
				return Result{}, err
			}
			queueSecs = time.Since(start).Seconds()

			prog = startProgress(env.opts.Progress, "backlog drain", total, eps[0].unique.Load)
			defer prog.end()
			drainStart := time.Now()
			release()
			if err := waitDelivered(ctx, eps, total); err != nil {
				return Result{}, err
			}
			secs := time.Unix(0, eps[0].lastNew.Load()).Sub(drainStart).Seconds()
			return Result{Deliveries: total, Seconds: secs, PerSecond: float64(total) / secs,
				IngestPerSec: float64(total) / queueSecs}, nil
		})
		if err != nil {
			return res, err
		}
		whose := "the hookd child's"
		if h.pid == 0 {
			whose = "the whole process's"
			res.PeakRSSMiB = peakRSSMiB(0)
		}
		res.Detail = fmt.Sprintf("queued in %.1f s (%.0f events/s) with the receiver not answering; peak RSS is %s",
			queueSecs, res.IngestPerSec, whose)
		return res, nil
	})
}
