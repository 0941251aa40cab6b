package delivery

import (
	"time"

	"github.com/google/uuid"

	"github.com/hookd/hookd/internal/store"
)

// startLeased hands deliveries leased under m (by a lease round or an ingest)
// to their lanes: those whose lease is too close to its end are released,
// those a free slot can take start now, the rest wait in their windows.
func (e *Engine) startLeased(m *membership, ds []store.LeasedDelivery, path string) {
	if len(ds) == 0 {
		return
	}
	now := e.now()
	var release []uuid.UUID
	usable := ds[:0:0]
	for i := range ds {
		if !e.freshAt(&ds[i], now) {
			release = append(release, ds[i].DeliveryID)
			e.lanes.unreserve(ds[i].WebhookID, 1)
			continue
		}
		usable = append(usable, ds[i])
	}
	e.metrics.leased.WithLabelValues(path).Add(float64(len(usable)))
	for _, d := range e.lanes.enqueue(usable) {
		if !e.start(m, d) {
			release = append(release, e.abandonSlot(d)...)
		}
	}
	if len(release) > 0 {
		e.releaseLeases(m.owner, release)
		e.Wake()
	}
}

// fresh reports whether d's lease still covers an attempt started now.
func (e *Engine) fresh(d *store.LeasedDelivery) bool { return e.freshAt(d, e.now()) }

func (e *Engine) freshAt(d *store.LeasedDelivery, now time.Time) bool {
	return d.LeaseUntil.Sub(now) >= e.cfg.Timeout+startMargin
}

// start launches a worker on d, whose slot is taken. false: the engine is
// stopping, or d was leased under an identity that is no longer current.
func (e *Engine) start(m *membership, d store.LeasedDelivery) bool {
	e.mu.Lock()
	if !e.running || e.stopping || e.member != m || d.Owner != m.owner {
		e.mu.Unlock()
		return false
	}
	e.workers.Add(1)
	e.inFlight[d.DeliveryID] = struct{}{}
	e.mu.Unlock()
	go e.work(m, d)
	return true
}

// abandonSlot frees the slot taken for d without an attempt, and returns
// the ids whose leases to give back: d's, and those of any deliveries of the
// lane the freed slot would have gone to.
func (e *Engine) abandonSlot(d store.LeasedDelivery) []uuid.UUID {
	ids := []uuid.UUID{d.DeliveryID}
	next, ok, stale := e.lanes.finish(d.WebhookID, func(*store.LeasedDelivery) bool { return false })
	for _, s := range stale {
		ids = append(ids, s.DeliveryID)
	}
	if ok { // unreachable: every candidate was refused above
		ids = append(ids, e.abandonSlot(next)...)
	}
	return ids
}

// work runs attempts on one slot: d first, then whatever the lanes give the
// slot next, without waiting for the store in between — the outcome goes to
// the completer, and the next delivery was leased ahead (the lane's window).
func (e *Engine) work(m *membership, d store.LeasedDelivery) {
	defer e.workers.Done()
	for {
		e.attempt(m, &d)
		next, ok, stale := e.lanes.finish(d.WebhookID, e.fresh)
		if len(stale) > 0 {
			e.releaseStale(m, stale)
		}
		if !ok {
			return
		}
		if !e.claim(m, next) {
			e.releaseLeases(next.Owner, e.abandonSlot(next))
			return
		}
		d = next
	}
}

// claim records next as in flight on this worker's slot, unless the engine
// is stopping or next belongs to another identity.
func (e *Engine) claim(m *membership, next store.LeasedDelivery) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.running || e.stopping || e.member != m || next.Owner != m.owner {
		return false
	}
	e.inFlight[next.DeliveryID] = struct{}{}
	return true
}

func (e *Engine) releaseStale(m *membership, stale []store.LeasedDelivery) {
	ids := make([]uuid.UUID, len(stale))
	for i := range stale {
		ids[i] = stale[i].DeliveryID
	}
	e.releaseLeases(m.owner, ids)
	e.Wake()
}

// attempt makes one attempt of d and hands its outcome to the completer. An
// attempt cut short because this identity was lost is abandoned, not
// recorded: another process may be taking the delivery over, and its outcome
// is unknown (the receiver may have had it), so it is made again.
func (e *Engine) attempt(m *membership, d *store.LeasedDelivery) {
	if d.AttemptCount == 0 && d.DeliveryID.Version() == 7 {
		sec, nsec := d.DeliveryID.Time().UnixTime()
		e.metrics.firstAttempt.Observe(e.now().Sub(time.Unix(sec, nsec)).Seconds())
	}
	e.metrics.inFlight.Inc()
	out, res := e.sender.attempt(m.ctx, d)
	e.metrics.inFlight.Dec()
	e.metrics.attempts.WithLabelValues(res.class).Inc()
	e.metrics.duration.Observe(float64(out.Attempt.DurationMS) / 1000)
	if m.ctx.Err() != nil {
		e.metrics.abandoned.Inc()
		e.forget(d.DeliveryID)
		return
	}
	if res.err != nil {
		e.log.Debug("delivery attempt failed", "delivery_id", d.DeliveryID, "webhook_id", d.WebhookID,
			"attempt", out.Attempt.AttemptNumber, "error", *res.err)
	}
	e.done.complete(finished{outcome: out, eventType: d.EventType, class: res.class, retryAfter: res.retryAfter})
}

// forget drops ids from the in-flight set once their outcomes are written
// (or given up): until then their leases are this process's to keep.
func (e *Engine) forget(ids ...uuid.UUID) {
	e.mu.Lock()
	for _, id := range ids {
		delete(e.inFlight, id)
	}
	e.mu.Unlock()
}
