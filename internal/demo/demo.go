// Package demo runs hookd's whole loop in one process, for a first look
// (`hookd demo`).
//
// Everything lives in a temporary directory: hookd's embedded store, its
// generated keys, and the certificate of a local HTTPS receiver, made for
// this run and handed to hookd as --ca-file (loopback is allowed with
// --allow-cidr 127.0.0.0/8). hookd itself runs through app.Serve, exactly as
// `hookd serve` does. The demo bootstraps a team the way the administration
// commands do (straight into the store, before hookd opens it), then acts as
// an ordinary client over HTTP: it creates two webhooks, ingests a completed
// and a failed task with the ingest token, waits for the deliveries, checks
// every signature the receiver saw against the secret the API returns, and
// prints the delivery log. One endpoint fails the first two attempts of every
// delivery so that the retry schedule, shortened for the demo, shows up in
// the log. Nothing is left behind unless Options.Keep is set.
package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/google/uuid"
)

// DefaultTimeout bounds the whole demo when Options.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// RetrySchedule replaces the default 0s,5s,30s,2m so that the flaky
// endpoint's two failures and final success take about half a second.
const RetrySchedule = "0s,500ms,1s"

// Options configures Run.
type Options struct {
	Stdout  io.Writer     // the report; nil discards it
	Stderr  io.Writer     // hookd's own warnings and errors; nil discards them
	Keep    bool          // keep the temporary directory (its path is printed)
	Timeout time.Duration // bounds the whole run; zero means DefaultTimeout
	TempDir string        // where the temporary directory is made; "" means os.TempDir()
}

// ErrTimeout is the cause of every error of a run that outlived its timeout.
var ErrTimeout = errors.New("the demo did not finish within its timeout")

// ErrInvalidSignature is returned (after the full report is printed) when a
// request the receiver saw does not carry a valid signature.
var ErrInvalidSignature = errors.New("a delivery's signature did not verify")

// endpoint is one webhook of the demo: how it is registered, how the
// receiver answers at its path, and what the API says about it.
type endpoint struct {
	name      string
	path      string
	events    []string
	behaviour string
	hook      webhookDetail // GET /api/v1/webhooks/{id}, secret included
}

func demoEndpoints() []*endpoint {
	return []*endpoint{
		{name: "steady", path: pathSteady, events: []string{"task.completed", "task.failed"}, behaviour: "answers 200"},
		{name: "flaky", path: pathFlaky, events: []string{"task.completed"},
			behaviour: fmt.Sprintf("answers 503 to the first %d attempts of each delivery, then 200", flakyFailures)},
	}
}

// taskEvent is the ingest body (SPEC §4), fields in the documented order.
type taskEvent struct {
	TeamID     string          `json:"team_id"`
	TaskID     string          `json:"task_id"`
	TaskStatus string          `json:"task_status"`
	TaskOutput json.RawMessage `json:"task_output,omitempty"`
	TaskError  string          `json:"task_error,omitempty"`
	Timestamp  string          `json:"timestamp"`
}

func demoEvents(team uuid.UUID, now time.Time) ([]taskEvent, error) {
	completed, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	failed, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	ts := now.UTC().Format(time.RFC3339)
	output := fmt.Sprintf(`{"storage_key":"tasks/%s/output.png","image_count":1}`, completed)
	return []taskEvent{
		{TeamID: team.String(), TaskID: completed.String(), TaskStatus: "completed", TaskOutput: json.RawMessage(output), Timestamp: ts},
		{TeamID: team.String(), TaskID: failed.String(), TaskStatus: "failed", TaskError: "out of memory", Timestamp: ts},
	}, nil
}

// Run performs the demo and prints its report. It returns nil only when every
// delivery finished, every signature verified and hookd stopped cleanly.
func Run(ctx context.Context, o Options) (err error) {
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Timeout < 0 {
		return errors.New("the timeout must be positive")
	}
	ctx, cancel := context.WithTimeoutCause(ctx, o.Timeout, fmt.Errorf("%w of %v (--timeout)", ErrTimeout, o.Timeout))
	defer cancel()
	defer func() {
		// Whatever step the deadline interrupted, say first that it was the deadline.
		if cause := context.Cause(ctx); err != nil && errors.Is(cause, ErrTimeout) && !errors.Is(err, ErrTimeout) {
			err = fmt.Errorf("%w: %w", cause, err)
		}
	}()
	out := &report{w: o.Stdout}

	dir, err := os.MkdirTemp(o.TempDir, "hookd-demo-")
	if err != nil {
		return fmt.Errorf("creating the temporary directory: %w", err)
	}
	defer func() { err = errors.Join(err, finish(out, dir, o.Keep)) }()

	rcv, err := startReceiver(dir, o.Stderr)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, rcv.close()) }()

	ingestToken, err := newIngestToken()
	if err != nil {
		return err
	}
	args := serveArgs(dir, rcv.caFile, ingestToken)
	cfg, err := serveConfig(args)
	if err != nil {
		return fmt.Errorf("hookd configuration: %w", err)
	}
	who, err := bootstrap(ctx, cfg, o.Timeout+time.Minute)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(o.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := startServer(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer func() {
		if !srv.stopped { // an early return: the normal path stops hookd itself and reports it
			err = errors.Join(err, srv.stop())
		}
	}()
	api := newClient(srv.base, who.token, who.teamID.String(), ingestToken)
	defer api.close()
	out.setup(dir, o.Keep, rcv, srv.base, who, serveArgs(dir, rcv.caFile, "<random>"))

	endpoints := demoEndpoints()
	for _, ep := range endpoints {
		id, err := api.createWebhook(ctx, ep.name, rcv.url(ep.path), ep.events)
		if err != nil {
			return err
		}
		if ep.hook, err = api.getWebhook(ctx, id); err != nil {
			return err
		}
	}
	out.webhooks(endpoints)

	events, err := demoEvents(who.teamID, time.Now())
	if err != nil {
		return err
	}
	rcv.restartClock()
	answers := make([]ingestAnswer, len(events))
	want := 0
	for i, ev := range events {
		if answers[i], err = api.ingest(ctx, ev); err != nil {
			return err
		}
		want += answers[i].DeliveryCount
	}
	out.ingested(events, answers)

	started := time.Now()
	logs, err := waitForDeliveries(ctx, api, endpoints, want, 100*time.Millisecond)
	if err != nil {
		return err
	}
	out.waited(want, time.Since(started))
	seen := rcv.seen()
	verified, invalid := out.requests(seen, endpoints)
	for _, ep := range endpoints {
		details, err := deliveryDetails(ctx, api, ep, logs[ep])
		if err != nil {
			return err
		}
		out.deliveryLog(ep, details, seen)
	}
	stopErr := srv.stop()
	out.summary(want, len(seen), verified, invalid, stopErr)
	return verdict(invalid, len(seen), stopErr)
}

// verdict is the run's result once everything was printed: a bad signature
// fails the demo, and so does an unclean shutdown.
func verdict(invalid, requests int, stopErr error) error {
	if invalid > 0 {
		return errors.Join(fmt.Errorf("%w: %d of %d requests", ErrInvalidSignature, invalid, requests), stopErr)
	}
	return stopErr
}

// waitForDeliveries polls every webhook's delivery log until want deliveries
// exist and none is pending, and returns the logs. When ctx ends first the
// error says what was still pending.
func waitForDeliveries(ctx context.Context, api *client, endpoints []*endpoint, want int, every time.Duration) (map[*endpoint][]deliverySummary, error) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	var last map[*endpoint][]deliverySummary
	for {
		logs := map[*endpoint][]deliverySummary{}
		total, pending := 0, 0
		var err error
		for _, ep := range endpoints {
			if logs[ep], err = api.listDeliveries(ctx, ep.hook.ID); err != nil {
				break
			}
			for _, d := range logs[ep] {
				total++
				if d.DeliveryStatus == "pending" {
					pending++
				}
			}
		}
		switch {
		case err != nil && ctx.Err() == nil:
			return nil, err
		case err == nil && total >= want && pending == 0:
			return logs, nil
		case err == nil:
			last = logs
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for %d deliveries: %w%s", want, ctx.Err(), describePending(endpoints, last))
		case <-tick.C:
		}
	}
}

// describePending explains which deliveries were still unfinished.
func describePending(endpoints []*endpoint, logs map[*endpoint][]deliverySummary) string {
	if logs == nil {
		return " (the delivery log could not be read)"
	}
	s := ""
	for _, ep := range endpoints {
		for _, d := range logs[ep] {
			if d.DeliveryStatus != "pending" {
				continue
			}
			s += fmt.Sprintf("; webhook %q delivery %s still pending after %d attempts", ep.name, d.ID, d.AttemptCount)
			if d.LastError != nil {
				s += " (last error: " + *d.LastError + ")"
			}
		}
	}
	return s
}

// deliveryDetails fetches each delivery with its attempts, oldest first.
func deliveryDetails(ctx context.Context, api *client, ep *endpoint, list []deliverySummary) ([]deliveryDetail, error) {
	details := make([]deliveryDetail, 0, len(list))
	for i := len(list) - 1; i >= 0; i-- { // the list is newest first
		d, err := api.getDelivery(ctx, ep.hook.ID, list[i].ID)
		if err != nil {
			return nil, err
		}
		details = append(details, d)
	}
	return details, nil
}

// finish removes the temporary directory, or says where it was kept.
func finish(out *report, dir string, keep bool) error {
	if keep {
		out.kept(dir)
		return nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("removing the temporary directory: %w", err)
	}
	return nil
}
