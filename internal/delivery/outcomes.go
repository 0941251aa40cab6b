package delivery

import (
	"context"
	"time"

	"github.com/hookd/hookd/internal/store"
)

const (
	// Backoff of a failing RecordOutcomes call.
	recordBackoffFirst = 50 * time.Millisecond
	recordBackoffMax   = 5 * time.Second
	// batchTries: a batch that fails this often is written one outcome at a
	// time, so one outcome the store refuses cannot hold back the others.
	batchTries = 3
	// recordTriesAtShutdown bounds retries once Run is stopping: the process
	// is about to exit, and an unrecorded attempt is redone when its lease
	// expires.
	recordTriesAtShutdown = 5
)

// finished is an attempt's outcome on its way to the store, with the lease
// it was made under.
type finished struct {
	outcome    store.Outcome
	leaseUntil time.Time
}

// writeOutcomes records outcomes in batches: whatever is waiting when the
// previous call returns goes into the next RecordOutcomes call, so a busy
// engine shares one transaction (and one flush) among many attempts. It
// returns once the channel is closed and drained.
func (e *Engine) writeOutcomes(done chan<- struct{}) {
	defer close(done)
	batch := make([]finished, 0, maxOutcomeBatch)
	for first := range e.outcomes {
		batch = append(batch[:0], first)
	collect:
		for len(batch) < maxOutcomeBatch {
			select {
			case f, ok := <-e.outcomes:
				if !ok {
					break collect
				}
				batch = append(batch, f)
			default:
				break collect
			}
		}
		e.record(batch)
	}
}

// record schedules retries of failed attempts and writes the batch. A store
// error is retried with backoff; an outcome is given up (loudly) only once
// its lease is over, when the delivery is due again and the attempt will be
// redone whatever we do — at-least-once holds either way.
func (e *Engine) record(batch []finished) {
	outcomes, retries := e.scheduleRetries(batch)
	switch {
	case len(batch) == 1:
		e.write(outcomes, 0, batch[0].leaseUntil)
	case e.write(outcomes, batchTries, time.Time{}):
	case e.isStopping():
		// Given up (and logged): no time to try them one by one.
	default:
		for i := range batch {
			e.write(outcomes[i:i+1], 0, batch[i].leaseUntil)
		}
	}
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
			if next, ok := NextAttempt(e.cfg.Schedule, o.Attempt.AttemptNumber, o.FinishedAt); ok {
				next = ceilMillisecond(next)
				o.NextAttemptAt = &next
				retries = true
			}
		}
		outcomes[i] = *o
	}
	return outcomes, retries
}

// takeOutcomes takes the outcomes waiting for the writer, without blocking.
func (e *Engine) takeOutcomes() []finished {
	var batch []finished
	for len(batch) < maxOutcomeBatch {
		select {
		case f := <-e.outcomes:
			batch = append(batch, f)
		default:
			return batch
		}
	}
	return batch
}

// write calls RecordOutcomes until it succeeds or gives up: after maxTries
// tries when maxTries > 0; else once giveUpAfter has passed. At shutdown it
// gives up after recordTriesAtShutdown tries. It reports success.
func (e *Engine) write(outcomes []store.Outcome, maxTries int, giveUpAfter time.Time) bool {
	backoff := recordBackoffFirst
	for try := 1; ; try++ {
		ctx, cancel := context.WithTimeout(context.Background(), e.cfg.Timeout+leaseMargin)
		err := e.st.RecordOutcomes(ctx, outcomes)
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
		e.log.Error("recording attempt outcomes failed; retrying", "count", len(outcomes), "err", err, "retry_in", backoff)
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

func (e *Engine) isStopping() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stopping
}
