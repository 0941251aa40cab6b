package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/hookd/hookd/internal/delivery"
	"github.com/hookd/hookd/internal/payload"
	"github.com/hookd/hookd/webhooksig"
)

// Targets of the issue that asked for this harness.
const (
	targetRatioSQLite   = 0.60
	targetRatioPostgres = 0.40
	targetP99           = 25 * time.Millisecond
)

// runCeiling sends Events plain signed POSTs (hookd's body shape and
// headers, a fresh delivery id each) with Concurrency clients to the same
// receiver, over one shared transport configured like hookd's.
func (env *environment) runCeiling(ctx context.Context) (Result, error) {
	ep := env.rcv.addEndpoint("/ceiling")
	secret, err := randomHex("whsec_", 24)
	if err != nil {
		return Result{}, err
	}
	ep.setSecret(secret)
	client, err := env.plainClient()
	if err != nil {
		return Result{}, err
	}
	defer client.CloseIdleConnections()
	total := int64(env.opts.Events)
	prog := startProgress(env.opts.Progress, "ceiling", total, ep.unique.Load)
	defer prog.end()

	var next atomic.Int64
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	start := time.Now()
	var wg sync.WaitGroup
	for range env.opts.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && next.Add(1) <= total {
				if err := postSigned(ctx, client, env.rcv.url(ep), secret); err != nil {
					cancel(err)
				}
			}
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return Result{}, err
	}
	if got := ep.unique.Load(); got != total {
		return Result{}, fmt.Errorf("the receiver counted %d unique deliveries of %d", got, total)
	}
	secs := time.Unix(0, ep.lastNew.Load()).Sub(start).Seconds()
	return Result{Deliveries: total, Seconds: secs, PerSecond: float64(total) / secs,
		Detail: "plain signed POSTs, " + strconv.Itoa(env.opts.Concurrency) + " clients, no hookd"}, nil
}

// plainClient is a Go client with hookd's transport settings (keep-alive,
// HTTP/2 when offered, the receiver's CA) and nothing else.
func (env *environment) plainClient() (*http.Client, error) {
	pem, err := os.ReadFile(env.rcv.caFile)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		ForceAttemptHTTP2:   true,
		TLSClientConfig:     &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost: env.opts.Concurrency,
	}}, nil
}

// postSigned makes one delivery as hookd would: rendered body, signature,
// the id headers, response read and closed.
func postSigned(ctx context.Context, client *http.Client, url, secret string) error {
	task, event, del := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	body, err := payload.Render("task.completed", task, "completed",
		[]byte(`{"storage_key":"tasks/`+task.String()+`/output.png","image_count":1}`), "", time.Now())
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(webhooksig.Header, webhooksig.Sign(secret, body))
	req.Header.Set("X-Webhook-Event", "task.completed")
	req.Header.Set("X-Webhook-Delivery", del.String())
	req.Header.Set("X-Webhook-Event-ID", event.String())
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("ceiling POST answered %d", resp.StatusCode)
	}
	return nil
}

// withHookd runs fn against a fresh hookd with n endpoints registered as
// webhooks of its team, then stops it.
func (env *environment) withHookd(ctx context.Context, opts hookdOptions, prefix string, n int,
	fn func(h *hookd, eps []*endpoint) (Result, error)) (res Result, err error) {
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
	return fn(h, eps)
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

// runThroughput ingests Events events for one webhook as fast as the batch
// API answers and measures unique deliveries per second, from the first
// ingest request to the last new delivery.
func (env *environment) runThroughput(ctx context.Context) (Result, error) {
	return env.withHookd(ctx, hookdOptions{}, "/throughput/", 1, func(h *hookd, eps []*endpoint) (Result, error) {
		total := int64(env.opts.Events)
		prog := startProgress(env.opts.Progress, "throughput", total, eps[0].unique.Load)
		defer prog.end()
		start := time.Now()
		made, err := h.ingestAll(ctx, int(total), env.opts.Batch, env.opts.IngestConcurrency, nil)
		ingestSecs := time.Since(start).Seconds()
		if err != nil {
			return Result{}, err
		}
		if err := expect(made, total); err != nil {
			return Result{}, err
		}
		if err := waitFor(ctx, func() bool { return eps[0].unique.Load() >= total }); err != nil {
			return Result{}, fmt.Errorf("%d of %d delivered: %w", eps[0].unique.Load(), total, err)
		}
		secs := time.Unix(0, eps[0].lastNew.Load()).Sub(start).Seconds()
		res := Result{Deliveries: total, Seconds: secs, PerSecond: float64(total) / secs,
			IngestPerSec: float64(total) / ingestSecs}
		if env.ceiling > 0 {
			res.Ratio = res.PerSecond / env.ceiling
			target := targetRatioSQLite
			if env.postgresURL != "" {
				target = targetRatioPostgres
			}
			met := res.Ratio >= target
			res.Target, res.TargetMet = fmt.Sprintf("≥ %.0f%% of ceiling", target*100), &met
		}
		res.Detail = fmt.Sprintf("1 webhook, ingest %.0f events/s", res.IngestPerSec)
		return res, nil
	})
}

// runLatency ingests Rate events per second for Duration (batches every
// 5 ms) and measures, per event, its first receipt minus the arrival of the
// ingest answer that accepted it.
func (env *environment) runLatency(ctx context.Context) (Result, error) {
	return env.withHookd(ctx, hookdOptions{}, "/latency/", 1, func(h *hookd, eps []*endpoint) (Result, error) {
		var mu sync.Mutex
		var batches []accepted
		var events atomic.Int64
		onBatch := func(a accepted) {
			mu.Lock()
			batches = append(batches, a)
			mu.Unlock()
			events.Add(int64(len(a.events)))
		}
		planned := int64(env.opts.Rate * env.opts.Duration.Seconds())
		prog := startProgress(env.opts.Progress, "latency", planned, eps[0].unique.Load)
		defer prog.end()
		start := time.Now()
		sent, err := h.ingestAtRate(ctx, env.opts.Rate, env.opts.Duration, 5*time.Millisecond, onBatch)
		if err != nil {
			return Result{}, err
		}
		sendSecs := time.Since(start).Seconds()
		if err := waitFor(ctx, func() bool { return eps[0].unique.Load() >= sent }); err != nil {
			return Result{}, fmt.Errorf("%d of %d delivered: %w", eps[0].unique.Load(), sent, err)
		}
		lat := make([]time.Duration, 0, sent)
		ing := make([]time.Duration, 0, len(batches))
		early := 0
		for _, b := range batches {
			ing = append(ing, b.answeredAt.Sub(b.sentAt))
			for _, ev := range b.events {
				at, ok := env.rcv.firstArrival(ev)
				if !ok {
					return Result{}, fmt.Errorf("event %s was never delivered", ev)
				}
				d := at.Sub(b.answeredAt)
				if d < 0 {
					// Delivered before the ingest answer reached the client:
					// the engine starts the attempt right after the commit.
					early++
					d = 0
				}
				lat = append(lat, d)
			}
		}
		res := Result{Deliveries: sent, Seconds: sendSecs, PerSecond: float64(sent) / sendSecs,
			Latency: summarize(lat), IngestLatency: summarize(ing)}
		met := res.Latency.P99 <= ms(targetP99)
		res.Target, res.TargetMet = fmt.Sprintf("p99 ≤ %.0f ms", ms(targetP99)), &met
		res.Detail = fmt.Sprintf("%.0f/s offered for %s; %d of %d received before their ingest answer; ingest p99 %.1f ms",
			env.opts.Rate, env.opts.Duration, early, sent, res.IngestLatency.P99)
		return res, nil
	})
}

// runFanout ingests one event for a team of Webhooks webhooks and measures
// the time from the ingest request until every webhook received it.
func (env *environment) runFanout(ctx context.Context) (Result, error) {
	n := env.opts.Webhooks
	return env.withHookd(ctx, hookdOptions{}, "/fanout/", n, func(h *hookd, eps []*endpoint) (Result, error) {
		acc, err := h.ingestBatch(ctx, 1)
		if err != nil {
			return Result{}, err
		}
		if err := expect(int64(acc.deliveries), int64(n)); err != nil {
			return Result{}, err
		}
		if err := waitFor(ctx, func() bool { return sumUnique(eps) >= int64(n) }); err != nil {
			return Result{}, fmt.Errorf("%d of %d delivered: %w", sumUnique(eps), n, err)
		}
		secs := lastNew(eps).Sub(acc.sentAt).Seconds()
		return Result{Deliveries: int64(n), Seconds: secs, PerSecond: float64(n) / secs,
			Detail: fmt.Sprintf("1 event to %d webhooks; ingest answered in %.1f ms", n, ms(acc.answeredAt.Sub(acc.sentAt)))}, nil
	})
}

// runIsolation measures the nine healthy webhooks' delivery rate twice: with
// a tenth healthy webhook, then with a tenth whose endpoint hangs until
// hookd's timeout. The ratio is the second rate over the first.
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
		func(h *hookd, eps []*endpoint) (Result, error) {
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
			start := time.Now()
			made, err := h.ingestAll(ctx, int(events), env.opts.Batch, env.opts.IngestConcurrency, nil)
			if err != nil {
				return Result{}, err
			}
			if err := expect(made, events*isolationWebhooks); err != nil {
				return Result{}, err
			}
			if err := waitFor(ctx, func() bool { return sumUnique(good) >= want }); err != nil {
				return Result{}, fmt.Errorf("%d of %d delivered: %w", sumUnique(good), want, err)
			}
			secs := lastNew(good).Sub(start).Seconds()
			return Result{Deliveries: want, Seconds: secs, PerSecond: float64(want) / secs}, nil
		})
}

// runBacklog queues BacklogEvents deliveries while the receiver does not
// answer (hookd's few in-flight attempts hang; everything else waits in the
// store), then lets it answer and measures the drain rate and the process's
// peak RSS over the whole scenario.
func (env *environment) runBacklog(ctx context.Context) (Result, error) {
	// The held attempts must not time out while the queue fills.
	opts := hookdOptions{deliveryTimeout: env.opts.Timeout}
	return env.withHookd(ctx, opts, "/backlog/", 1, func(h *hookd, eps []*endpoint) (Result, error) {
		total := int64(env.opts.BacklogEvents)
		resetPeakRSS()
		release := eps[0].hold(http.StatusOK)
		defer release()
		var queued atomic.Int64
		prog := startProgress(env.opts.Progress, "backlog queue", total, queued.Load)
		start := time.Now()
		batch := maxIngestBatch
		made, err := h.ingestAll(ctx, int(total), batch, env.opts.IngestConcurrency, func(a accepted) {
			queued.Add(int64(a.deliveries))
		})
		prog.end()
		if err != nil {
			return Result{}, err
		}
		if err := expect(made, total); err != nil {
			return Result{}, err
		}
		queueSecs := time.Since(start).Seconds()

		prog = startProgress(env.opts.Progress, "backlog drain", total, eps[0].unique.Load)
		defer prog.end()
		drainStart := time.Now()
		release()
		if err := waitFor(ctx, func() bool { return eps[0].unique.Load() >= total }); err != nil {
			return Result{}, fmt.Errorf("%d of %d delivered: %w", eps[0].unique.Load(), total, err)
		}
		secs := time.Unix(0, eps[0].lastNew.Load()).Sub(drainStart).Seconds()
		return Result{Deliveries: total, Seconds: secs, PerSecond: float64(total) / secs,
			IngestPerSec: float64(total) / queueSecs, PeakRSSMiB: peakRSSMiB(),
			Detail: fmt.Sprintf("queued in %.1f s (%.0f events/s) with the receiver not answering; peak RSS is the whole process",
				queueSecs, float64(total)/queueSecs)}, nil
	})
}
