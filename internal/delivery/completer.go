package delivery

import (
	"context"
	"time"

	"github.com/hookd/hookd/internal/store"
)

// finished is an attempt's outcome on its way to the store.
type finished struct {
	outcome    store.Outcome
	eventType  string        // the delivery's event type (metrics, logs)
	class      string        // the attempt's outcome class (metrics, logs)
	retryAfter time.Duration // the receiver's Retry-After, 0 if none
}

const (
	// Backoff of a failing RecordOutcomes call: short, so that a database
	// blip delays outcomes (and the retries they schedule) by about as long
	// as the blip.
	recordBackoffFirst = 50 * time.Millisecond
	recordBackoffMax   = time.Second
	// batchTries: a batch that fails this often is written one outcome at a
	// time, so one outcome the store refuses cannot hold back the others.
	batchTries = 3
	// recordTriesAtShutdown bounds retries once the engine is stopping: the
	// process is about to exit, and an unrecorded attempt is made again.
	recordTriesAtShutdown = 5
)

// outcomeLinger is how long the completer lets a batch fill before it writes
// it. A commit costs the store far more than a row (on SQLite, writing the
// dirty pages to the WAL is most of it), and nothing waits for an outcome
// to be written — the attempt's slot is free as soon as it ends — so a few
// milliseconds buy batches of dozens of outcomes per commit under load.
const outcomeLinger = 5 * time.Millisecond

// batchCompleter takes the outcomes of finished attempts and records them
// in the store, in batches from one goroutine: it takes what arrives within
// outcomeLinger of the first outcome (up to maxOutcomeBatch) into one
// RecordOutcomes call, so a busy engine shares one transaction (and one
// flush) among many attempts. complete does not wait for the write: the
// worker that hands an outcome over goes straight on to its lane's next
// delivery (it waits only when two batches of outcomes are queued
// unwritten, when the store is far behind).
type batchCompleter struct {
	e      *Engine
	in     chan finished
	linger time.Duration
}

func newBatchCompleter(e *Engine, capacity int, linger time.Duration) *batchCompleter {
	return &batchCompleter{e: e, in: make(chan finished, capacity), linger: linger}
}

func (c *batchCompleter) complete(f finished) { c.in <- f }

// run records until stop is closed and everything handed over before it is
// written (or given up); it returns then.
func (c *batchCompleter) run(stop <-chan struct{}) {
	batch := make([]finished, 0, maxOutcomeBatch)
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	for {
		select {
		case f := <-c.in:
			batch = append(batch[:0], f)
		case <-stop:
			// Every worker has handed over its outcome: drain and return.
			for {
				batch = batch[:0]
				for len(batch) < maxOutcomeBatch {
					select {
					case f := <-c.in:
						batch = append(batch, f)
						continue
					default:
					}
					break
				}
				if len(batch) == 0 {
					return
				}
				c.e.record(batch)
			}
		}
		linger.Reset(c.linger)
	collect:
		for len(batch) < maxOutcomeBatch {
			select {
			case f := <-c.in:
				batch = append(batch, f)
			case <-linger.C:
				break collect
			case <-stop:
				break collect // the drain above takes the rest
			}
		}
		linger.Stop()
		c.e.record(batch)
	}
}

// record schedules retries of failed attempts and writes the batch. A store
// error is retried with backoff; an outcome is given up (loudly) only once
// its lease is over, when the delivery is due again and the attempt will be
// made again whatever we do — at-least-once holds either way.
func (e *Engine) record(batch []finished) {
	outcomes, retries := e.scheduleRetries(batch)
	written := false
	switch {
	case len(batch) == 1:
		written = e.write(outcomes, 0, batch[0].outcome.LeaseUntil)
	case e.write(outcomes, batchTries, time.Time{}):
		written = true
	case e.isStopping():
		// Given up (and logged): no time to try them one by one.
	default:
		for i := range batch {
			e.write(outcomes[i:i+1], 0, batch[i].outcome.LeaseUntil)
		}
		written = true // each was written or given up (and logged) on its own
	}
	e.observe(batch, written)
	if retries {
		e.Wake() // the dispatcher learns the retry's due time from its next lease round
	}
}

// scheduleRetries sets NextAttemptAt on the failed attempts the retry
// schedule allows another try of, and returns the outcomes to write.
func (e *Engine) scheduleRetries(batch []finished) (outcomes []store.Outcome, retries bool) {
	outcomes = make([]store.Outcome, len(batch))
	for i := range batch {
		o := &batch[i].outcome
		if !o.Succeeded {
			if wait, ok := RetryAfterWait(e.cfg.Schedule, o.Attempt.AttemptNumber, batch[i].retryAfter); ok {
				next := ceilMillisecond(o.FinishedAt.Add(wait))
				o.NextAttemptAt = &next
				retries = true
			}
		}
		outcomes[i] = *o
	}
	return outcomes, retries
}

// write calls RecordOutcomes until it succeeds or gives up: after maxTries
// tries when maxTries > 0; else once giveUpAfter has passed. At shutdown it
// gives up after recordTriesAtShutdown tries. It reports success.
func (e *Engine) write(outcomes []store.Outcome, maxTries int, giveUpAfter time.Time) bool {
	backoff := recordBackoffFirst
	for try := 1; ; try++ {
		ctx, cancel := context.WithTimeout(context.Background(), e.cfg.Timeout+leaseMargin)
		err := e.q.RecordOutcomes(ctx, outcomes)
		cancel()
		if err == nil {
			return true
		}
		e.metrics.recordFailure.Inc()
		stopping := e.isStopping()
		if (maxTries > 0 && try >= maxTries) || (stopping && try >= recordTriesAtShutdown) ||
			(maxTries == 0 && !stopping && time.Now().After(giveUpAfter)) {
			if maxTries == 0 || stopping {
				e.metrics.outcomesDropped.Add(float64(len(outcomes)))
				e.log.Error("giving up recording attempt outcomes; the deliveries will be attempted again when their leases expire",
					"count", len(outcomes), "delivery_id", outcomes[0].DeliveryID, "err", err)
			}
			return false
		}
		e.log.Warn("recording attempt outcomes failed; retrying", "count", len(outcomes), "err", err, "retry_in", backoff)
		time.Sleep(backoff)
		backoff = min(2*backoff, recordBackoffMax)
	}
}

// ceilMillisecond rounds t up to the millisecond, the coarsest precision a
// store may keep: a store that rounds or truncates must never make a retry
// due before its wait is over.
func ceilMillisecond(t time.Time) time.Time {
	if r := t.Truncate(time.Millisecond); r.Before(t) {
		return r.Add(time.Millisecond)
	}
	return t
}
