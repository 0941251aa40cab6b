package delivery

import (
	"context"
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
			continue
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
		case <-e.wake:
		case <-wakeups:
		case <-timer.C:
		}
	}
}

// dueAgainDelay is how soon to look again when the store reports work due
// now that no limit held back: short, but not a busy loop.
const dueAgainDelay = time.Millisecond

// leaseRound leases as much due work as there are free slots and starts it.
// It returns how long the dispatcher may sleep (0: lease again at once).
func (e *Engine) leaseRound(ctx context.Context) (time.Duration, error) {
	free, full := e.lanes.room()
	if free == 0 {
		return e.pollEvery, nil // a freed slot wakes us
	}
	now := e.now()
	round := e.lanes.newRound()
	// Not ctx: a lease committed while its caller gave up would strand the
	// rows until the lease expires. The round is bounded instead.
	leaseCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.cfg.Timeout)
	res, err := e.st.Lease(leaseCtx, store.LeaseRequest{
		Owner:   e.cfg.Owner,
		Now:     now,
		Until:   now.Add(e.leaseFor),
		Limit:   free,
		Exclude: full,
		Admit:   round.admit,
	})
	cancel()
	if err != nil {
		round.settle(nil)
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
