package delivery

import (
	"sync"
	"time"

	"github.com/google/uuid"
)

// failingLogEvery bounds the "endpoint keeps failing" line to one per
// webhook per period.
const failingLogEvery = time.Minute

// observe reports a batch the completer is done with: the ids leave the
// in-flight set; when it was written, a delivery that ended failed gets one
// warn line, and an endpoint that keeps failing gets at most one line per
// webhook per minute.
func (e *Engine) observe(batch []finished, written bool) {
	ids := make([]uuid.UUID, len(batch))
	for i := range batch {
		f := &batch[i]
		ids[i] = f.outcome.DeliveryID
		if !written || f.outcome.Succeeded {
			continue
		}
		errText := ""
		if f.outcome.Attempt.Error != nil {
			errText = *f.outcome.Attempt.Error
		}
		if f.outcome.NextAttemptAt == nil {
			e.metrics.finalFailures.Inc()
			e.log.Warn("delivery failed for good", "webhook_id", f.outcome.WebhookID, "delivery_id", f.outcome.DeliveryID,
				"attempts", f.outcome.Attempt.AttemptNumber, "error_class", f.class, "last_error", errText)
			continue
		}
		if e.failing.allow(f.outcome.WebhookID, e.now()) {
			e.log.Info("endpoint is failing; the delivery will be retried", "webhook_id", f.outcome.WebhookID,
				"delivery_id", f.outcome.DeliveryID, "attempt", f.outcome.Attempt.AttemptNumber,
				"error_class", f.class, "last_error", errText, "next_attempt_at", f.outcome.NextAttemptAt.UTC())
		}
	}
	e.forget(ids...)
}

// rateLimiter allows one event per key per period.
type rateLimiter struct {
	mu    sync.Mutex
	every time.Duration
	last  map[uuid.UUID]time.Time
}

// maxLimiterKeys bounds the limiter's memory; past it, old keys are dropped.
const maxLimiterKeys = 10_000

func (r *rateLimiter) allow(key uuid.UUID, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last == nil {
		r.last = make(map[uuid.UUID]time.Time)
	}
	if at, ok := r.last[key]; ok && now.Sub(at) < r.every {
		return false
	}
	if len(r.last) >= maxLimiterKeys {
		for k, at := range r.last {
			if now.Sub(at) >= r.every {
				delete(r.last, k)
			}
		}
	}
	r.last[key] = now
	return true
}
