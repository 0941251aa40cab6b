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
// in-flight set and, when the batch was written, each delivery that ended
// is counted by event type. Logs, at info and above, tell what happened
// without flooding: one warn line per delivery that ended failed (the
// webhook, the delivery, its attempts and how the last one failed), and for
// failed attempts that will be retried at most one info line per webhook
// per minute, with how many failed since the last such line.
func (e *Engine) observe(batch []finished, written bool) {
	ids := make([]uuid.UUID, len(batch))
	for i := range batch {
		f := &batch[i]
		ids[i] = f.outcome.DeliveryID
		if !written {
			continue
		}
		if f.outcome.Succeeded {
			e.metrics.succeeded.WithLabelValues(f.eventType).Inc()
			continue
		}
		errText := ""
		if f.outcome.Attempt.Error != nil {
			errText = *f.outcome.Attempt.Error
		}
		if f.outcome.NextAttemptAt == nil {
			e.metrics.failed.WithLabelValues(f.eventType).Inc()
			e.log.Warn("delivery failed: no attempts left", "webhook_id", f.outcome.WebhookID,
				"delivery_id", f.outcome.DeliveryID, "event_type", f.eventType, "attempts", f.outcome.Attempt.AttemptNumber,
				"last_error_class", f.class, "last_error", errText)
			continue
		}
		if ok, failures := e.failing.allow(f.outcome.WebhookID, e.now()); ok {
			e.log.Info("endpoint keeps failing; deliveries will be retried", "webhook_id", f.outcome.WebhookID,
				"failed_attempts", failures, "delivery_id", f.outcome.DeliveryID, "attempt", f.outcome.Attempt.AttemptNumber,
				"last_error_class", f.class, "last_error", errText, "next_attempt_at", f.outcome.NextAttemptAt.UTC())
		}
	}
	e.forget(ids...)
}

// rateLimiter allows one event per key per period, and counts the events
// of each key it allowed or refused since the last one it allowed.
type rateLimiter struct {
	mu    sync.Mutex
	every time.Duration
	keys  map[uuid.UUID]*limited
}

type limited struct {
	last  time.Time // when an event was last allowed
	count int       // events since then, that one included
}

// maxLimiterKeys bounds the limiter's memory; past it, keys whose period is
// over are dropped.
const maxLimiterKeys = 10_000

// allow reports whether key's event at now may be logged and, when it may,
// how many events of key there were since the last one allowed (this one
// included).
func (r *rateLimiter) allow(key uuid.UUID, now time.Time) (ok bool, count int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.keys == nil {
		r.keys = make(map[uuid.UUID]*limited)
	}
	k := r.keys[key]
	if k != nil && now.Sub(k.last) < r.every {
		k.count++
		return false, 0
	}
	if k == nil {
		if len(r.keys) >= maxLimiterKeys {
			for key, old := range r.keys {
				if now.Sub(old.last) >= r.every {
					delete(r.keys, key)
				}
			}
		}
		k = &limited{}
		r.keys[key] = k
	}
	count = k.count + 1
	k.last, k.count = now, 0
	return true, count
}
