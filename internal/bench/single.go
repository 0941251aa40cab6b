package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// ingestCall is one event's ingest: its id, when the call started and when
// its answer arrived.
type ingestCall struct {
	event      uuid.UUID
	sentAt     time.Time
	answeredAt time.Time
}

// ingestOne posts one fresh event through POST /internal/v1/task-events,
// which must answer 202 with one delivery (the team has one webhook).
func (h *hookd) ingestOne(ctx context.Context) (ingestCall, error) {
	body := appendEvent(make([]byte, 0, 320), h.team, uuid.Must(uuid.NewV7()))
	data, sent, answered, err := h.postIngest(ctx, "/internal/v1/task-events", body, http.StatusAccepted)
	if err != nil {
		return ingestCall{}, fmt.Errorf("ingest: %w", err)
	}
	var ans struct {
		EventID       string `json:"event_id"`
		DeliveryCount *int   `json:"delivery_count"`
	}
	if err := json.Unmarshal(data, &ans); err != nil {
		return ingestCall{}, fmt.Errorf("ingest answer: %w", err)
	}
	if ans.DeliveryCount == nil || *ans.DeliveryCount != 1 {
		return ingestCall{}, fmt.Errorf("ingest answered %s, want delivery_count 1", bytes.TrimSpace(data))
	}
	ev, err := uuid.Parse(ans.EventID)
	if err != nil {
		return ingestCall{}, fmt.Errorf("ingest answer: event_id: %w", err)
	}
	return ingestCall{event: ev, sentAt: sent, answeredAt: answered}, nil
}

// ingestSingles sends total single-event requests from clients goroutines
// as fast as hookd answers (closed loop).
func (h *hookd) ingestSingles(ctx context.Context, total int64, clients int) ([]ingestCall, error) {
	calls := make([]ingestCall, total)
	var next atomic.Int64
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= total {
					return
				}
				c, err := h.ingestOne(ctx)
				if err != nil {
					cancel(err)
					return
				}
				calls[i] = c
			}
		}()
	}
	wg.Wait()
	return calls, context.Cause(ctx)
}

// ingestSinglesAtRate starts total single-event requests on the schedule
// start + i/rate (open loop: a slow answer does not delay the next start)
// with at most maxInFlight unanswered. When all of them are waiting, the
// next start waits for a free one; behind counts the starts that came more
// than a millisecond after their schedule.
func (h *hookd) ingestSinglesAtRate(ctx context.Context, rate float64, total int64, maxInFlight int) (calls []ingestCall, behind int, err error) {
	calls = make([]ingestCall, total)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	slots := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	timer := time.NewTimer(0)
	defer timer.Stop()
	start := time.Now()
send:
	for i := range total {
		due := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
		if wait := time.Until(due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				break send
			}
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			break send
		}
		if time.Since(due) > time.Millisecond {
			behind++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			c, err := h.ingestOne(ctx)
			if err != nil {
				cancel(err)
				return
			}
			calls[i] = c
		}()
	}
	wg.Wait()
	return calls, behind, context.Cause(ctx)
}

// latencies looks up every call's event at the receiver: Latency is its
// first receipt minus the arrival of the answer (0 when it arrived first,
// counted in early), LatencyFromCall its receipt minus the call's start,
// IngestLatency the call itself.
func (env *environment) latencies(calls []ingestCall) (res Result, early int, err error) {
	fromAnswer := make([]time.Duration, 0, len(calls))
	fromCall := make([]time.Duration, 0, len(calls))
	ingest := make([]time.Duration, 0, len(calls))
	for _, c := range calls {
		at, ok := env.rcv.firstArrival(c.event)
		if !ok {
			return Result{}, 0, fmt.Errorf("event %s was never delivered", c.event)
		}
		d := at.Sub(c.answeredAt)
		if d < 0 {
			// Delivered before the ingest answer reached the client: the
			// engine may start the attempt right after the commit.
			early++
			d = 0
		}
		fromAnswer = append(fromAnswer, d)
		fromCall = append(fromCall, at.Sub(c.sentAt))
		ingest = append(ingest, c.answeredAt.Sub(c.sentAt))
	}
	return Result{Deliveries: int64(len(calls)), Latency: summarize(fromAnswer), LatencyFromCall: summarize(fromCall),
		IngestLatency: summarize(ingest)}, early, nil
}

// runIngestSingle sends Events events to one webhook, one per request, from
// 32 clients as fast as hookd answers, and measures deliveries per second
// from the first request to the last new delivery.
func (env *environment) runIngestSingle(ctx context.Context) (Result, error) {
	total := int64(env.opts.Events)
	return env.withHookd(ctx, hookdOptions{}, "/ingest-single/", 1, func(ctx context.Context, h *hookd, eps []*endpoint) (Result, error) {
		prog := startProgress(env.opts.Progress, "ingest-single", total, eps[0].unique.Load)
		defer prog.end()
		res, err := env.measured(h, func() (Result, error) {
			start := time.Now()
			calls, err := h.ingestSingles(ctx, total, singleIngestClients)
			if err != nil {
				return Result{}, err
			}
			ingestSecs := time.Since(start).Seconds()
			if err := waitDelivered(ctx, eps, total); err != nil {
				return Result{}, err
			}
			secs := lastNew(eps).Sub(start).Seconds()
			ing := make([]time.Duration, len(calls))
			for i, c := range calls {
				ing[i] = c.answeredAt.Sub(c.sentAt)
			}
			return Result{Deliveries: total, Seconds: secs, PerSecond: float64(total) / secs,
				IngestPerSec: float64(total) / ingestSecs, IngestLatency: summarize(ing)}, nil
		})
		if err != nil {
			return res, err
		}
		env.ratioTo(&res, ceilingClients(ScenarioIngestSingle, env.opts.Concurrency, env.workers))
		res.Detail = fmt.Sprintf("1 webhook; %d clients, one event per request, closed loop; ingest %.0f events/s, p50/p99 %.1f/%.1f ms",
			singleIngestClients, res.IngestPerSec, res.IngestLatency.P50, res.IngestLatency.P99)
		return res, nil
	})
}

// runLatencySingle starts Rate single-event requests per second for
// Duration, at most 32 unanswered, and measures per event the time to its
// first receipt from the start of its ingest call and from its answer.
func (env *environment) runLatencySingle(ctx context.Context) (Result, error) {
	planned := max(int64(env.opts.Rate*env.opts.Duration.Seconds()), 1)
	return env.withHookd(ctx, hookdOptions{}, "/latency-single/", 1, func(ctx context.Context, h *hookd, eps []*endpoint) (Result, error) {
		prog := startProgress(env.opts.Progress, "latency-single", planned, eps[0].unique.Load)
		defer prog.end()
		var early, behind int
		res, err := env.measured(h, func() (Result, error) {
			start := time.Now()
			calls, late, err := h.ingestSinglesAtRate(ctx, env.opts.Rate, planned, singleIngestClients)
			behind = late
			if err != nil {
				return Result{}, err
			}
			sendSecs := time.Since(start).Seconds()
			if err := waitDelivered(ctx, eps, planned); err != nil {
				return Result{}, err
			}
			res, e, err := env.latencies(calls)
			early = e
			res.Seconds, res.PerSecond = sendSecs, float64(planned)/sendSecs
			return res, err
		})
		if err != nil {
			return res, err
		}
		res.Detail = fmt.Sprintf("%.0f/s offered for %s, one event per request, ≤ %d in flight; %d started > 1 ms late; %d of %d received before their answer; ingest p50/p99 %.1f/%.1f ms",
			env.opts.Rate, env.opts.Duration, singleIngestClients, behind, early, planned, res.IngestLatency.P50, res.IngestLatency.P99)
		return res, nil
	})
}
