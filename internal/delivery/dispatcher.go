package delivery

import (
	"context"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/hookd/hookd/internal/store"
)

// dispatch runs lease rounds until ctx is canceled. Between rounds it sleeps
// until something may have become due: Wake (this process made work), a
// store wakeup (another process did), a freed slot when work was left
// behind, the next due time the store reported, or the safety-net poll.
func (e *Engine) dispatch(ctx context.Context) {
	wakeups := e.st.Wakeups() // nil blocks forever in select: fine
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	failures := 0
	e.leaseWanted.Store(true)
	for ctx.Err() == nil {
		e.lanes.expireTickets(e.now())
		wait, err := e.leaseRound(ctx)
		if err != nil {
			failures++
			wait = min(100*time.Millisecond<<min(failures, 6), 5*time.Second)
			e.log.Error("lease round failed", "err", err, "retry_in", wait)
		} else {
			failures = 0
		}
		if wait <= 0 {
			e.leaseWanted.Store(true)
			continue
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
		case <-e.wake: // Wake sets leaseWanted; an outcome's signal does not
		case <-wakeups:
			e.leaseWanted.Store(true)
		case <-timer.C:
			e.leaseWanted.Store(true)
		}
	}
}

// dueAgainDelay is how soon to look again when the store reports work due
// now that no limit held back: short, but not a busy loop.
const dueAgainDelay = time.Millisecond

// leaseRound leases as much due work as there are free slots and starts it.
// It returns how long the dispatcher may sleep (0: lease again at once).
//
// With a store that can (store.OutcomeLeaser), the round first takes the
// outcomes of finished attempts and records them in the lease's own
// transaction: the slots those attempts freed are refilled at the cost of
// one commit, not an outcome commit and then a lease commit.
func (e *Engine) leaseRound(ctx context.Context) (time.Duration, error) {
	var outcomes []finished
	if e.combined != nil {
		outcomes = e.takeOutcomes()
	}
	wanted := e.leaseWanted.Swap(false)
	free, full := e.lanes.room()
	if free == 0 || (e.combined != nil && !wanted && refilled(outcomes, full)) {
		// No room, or woken only by outcomes of lanes already full again
		// (the previous round refilled their slots; none at all when that
		// round took them too): leasing would only walk rows nobody can
		// take now. room() asked for a wake on the next freed slot.
		if len(outcomes) > 0 {
			e.record(outcomes)
		}
		return e.pollEvery, nil // a freed slot wakes us
	}
	now := e.now()
	round := e.lanes.newRound()
	// Not ctx: a lease committed while its caller gave up would strand the
	// rows until the lease expires. The round is bounded instead.
	leaseCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.cfg.Timeout)
	req := store.LeaseRequest{
		Owner:   e.cfg.Owner,
		Now:     now,
		Until:   now.Add(e.leaseFor),
		Limit:   free,
		Exclude: full,
		Admit:   round.admit,
	}
	var res store.LeaseResult
	var err error
	if len(outcomes) > 0 {
		written, _ := e.scheduleRetries(outcomes)
		res, err = e.combined.RecordOutcomesAndLease(leaseCtx, written, req)
	} else {
		res, err = e.st.Lease(leaseCtx, req)
	}
	cancel()
	if err != nil {
		round.settle(nil)
		if len(outcomes) > 0 {
			// Neither happened: write the outcomes the patient way (retries,
			// one by one if need be); the lease waits for the next round.
			e.record(outcomes)
		}
		return 0, err
	}
	webhooks := make([]uuid.UUID, len(res.Deliveries))
	for i := range res.Deliveries {
		webhooks[i] = res.Deliveries[i].WebhookID
	}
	round.settle(webhooks)

	var release []uuid.UUID
	for i := range res.Deliveries {
		d := &res.Deliveries[i]
		if ctx.Err() != nil || !e.start(d) {
			// Leased but not started: give it back for another process.
			e.lanes.release(d.WebhookID)
			release = append(release, d.DeliveryID)
			continue
		}
		e.metrics.leased.WithLabelValues("dispatcher").Inc()
	}
	if len(release) > 0 {
		e.releaseLeases(release)
	}

	limited := len(res.Deliveries) >= free
	if limited && e.lanes.markLeftBehind() {
		return 0, nil // the batch was cut by the limit and there is room again
	}
	wait := e.pollEvery
	if res.NextDue != nil {
		switch until := res.NextDue.Sub(e.now()); {
		case until > 0:
			wait = min(wait, until)
		case !limited && len(full) == 0 && !round.refused:
			// Due already, yet nothing held it back: it became due while the
			// round ran (or the store keeps coarser time). Look again soon.
			wait = min(wait, dueAgainDelay)
		default:
			// Left behind for lack of room: a freed slot wakes us.
		}
	}
	return wait, nil
}

// refilled reports whether every outcome belongs to one of the full lanes.
func refilled(outcomes []finished, full []uuid.UUID) bool {
	for i := range outcomes {
		if !slices.Contains(full, outcomes[i].outcome.WebhookID) {
			return false
		}
	}
	return true
}
