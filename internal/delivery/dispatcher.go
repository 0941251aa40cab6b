package delivery

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/hookd/hookd/internal/store"
)

// dispatch runs lease rounds until ctx is canceled. Between rounds it sleeps
// until something may have become due: Wake (this process made work), a
// store wakeup (another process did), a lane with room again, the next due
// time the store reported, or the safety-net poll. It also keeps this
// process registered as a lease owner, and gives back orphaned leases after
// a failed write.
func (e *Engine) dispatch(ctx context.Context) {
	wakeups := e.q.Wakeups() // nil blocks forever in select: fine
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	failures := 0
	for ctx.Err() == nil {
		m := e.ensureMember(ctx)
		if m == nil {
			return
		}
		var wait time.Duration
		var err error
		if e.orphans.Swap(false) {
			if err = e.releaseOrphans(ctx, m); err != nil {
				e.orphans.Store(true)
			}
		}
		if err == nil {
			wait, err = e.leaseRound(ctx, m)
		}
		if err != nil {
			failures++
			wait = min(50*time.Millisecond<<min(failures, 5), time.Second)
			e.log.Warn("lease round failed", "err", err, "retry_in", wait)
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

// leaseRound leases as much due work as the lanes have room for and hands it
// to them. It returns how long the dispatcher may sleep (0: lease again).
func (e *Engine) leaseRound(ctx context.Context, m *membership) (time.Duration, error) {
	e.leaseWanted.Store(false)
	free, full := e.lanes.room()
	if free == 0 {
		return e.pollEvery, nil // a lane with room wakes us
	}
	now := e.now()
	r := &reservations{l: e.lanes, held: make(map[uuid.UUID]int)}
	// Not ctx: a lease committed while its caller gave up would strand the
	// rows until they are taken over. The round is bounded instead.
	leaseCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.cfg.Timeout)
	res, err := e.q.Lease(leaseCtx, store.LeaseRequest{
		Owner:   m.owner,
		Now:     now,
		Until:   e.leaseUntil(now),
		Limit:   free,
		Exclude: full,
		Admit:   r.admit,
	})
	cancel()
	e.metrics.leaseRounds.Inc()
	if err != nil {
		_, _ = r.settle(nil)
		// The commit may have happened: leases nobody holds in memory are
		// given back before the next round.
		e.orphans.Store(true)
		return 0, err
	}
	kept, unheld := r.settle(res.Deliveries)
	if len(unheld) > 0 {
		e.releaseLeases(m.owner, unheld)
	}
	e.startLeased(m, kept, "dispatcher")

	if len(res.Deliveries) >= free {
		return 0, nil // cut by the limit: more may be due
	}
	// A lane that filled during the round (refusals) wakes the dispatcher
	// again once it has room; leasing again at once would only walk past its
	// backlog to find nothing.
	wait := e.pollEvery
	if res.NextDue != nil {
		switch until := res.NextDue.Sub(e.now()); {
		case until > 0:
			wait = min(wait, until)
		case !r.refused && len(full) == 0:
			// Due already, yet nothing held it back: it became due while the
			// round ran (or the store keeps coarser time). Look again soon.
			wait = min(wait, dueAgainDelay)
		default:
			// Left behind for lack of room: a lane with room wakes us.
		}
	}
	return wait, nil
}

// reservations tallies the places Admit reserved during one lease call, so
// that those no leased row came for (the store refused it, or the
// transaction failed) are given back.
type reservations struct {
	l       *lanes
	held    map[uuid.UUID]int
	refused bool // Admit said no at least once: due work was left behind
}

func (r *reservations) admit(webhook uuid.UUID) bool {
	if !r.l.reserve(webhook) {
		r.refused = true
		return false
	}
	r.held[webhook]++
	return true
}

// settle matches leased rows to reservations and frees the surplus. It
// returns the leased rows that hold a reservation, and the ids of any that
// do not (a store that ignored Admit), whose leases the caller gives back.
func (r *reservations) settle(leased []store.LeasedDelivery) (kept []store.LeasedDelivery, unheld []uuid.UUID) {
	kept = leased[:0:0]
	for i := range leased {
		if r.held[leased[i].WebhookID] > 0 {
			r.held[leased[i].WebhookID]--
			kept = append(kept, leased[i])
			continue
		}
		unheld = append(unheld, leased[i].DeliveryID)
	}
	for id, n := range r.held {
		r.l.unreserve(id, n)
	}
	clear(r.held)
	return kept, unheld
}

// releaseOrphans gives back every lease of m's owner that this process does
// not hold in memory: after a write whose commit may have happened anyway
// (an ingest or a lease round that failed), such leases would otherwise wait
// to be taken over. Ingests are kept from leasing while it runs, and the
// ones already leasing are waited for: their leases are not in memory yet.
func (e *Engine) releaseOrphans(ctx context.Context, m *membership) error {
	e.mu.Lock()
	e.checking = true
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		e.checking = false
		e.mu.Unlock()
	}()
	deadline := time.Now().Add(e.cfg.Timeout)
	for {
		e.mu.Lock()
		pending := e.pending
		e.mu.Unlock()
		if pending == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	e.mu.Lock()
	keep := make([]uuid.UUID, 0, len(e.inFlight))
	for id := range e.inFlight {
		keep = append(keep, id)
	}
	e.mu.Unlock()
	keep = append(keep, e.lanes.holding()...)
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.cfg.Timeout)
	defer cancel()
	n, err := e.q.ReleaseLeasesExcept(rctx, m.owner, keep)
	if err != nil {
		return err
	}
	if n > 0 {
		e.log.Info("gave back leases left by a failed write", "count", n)
	}
	return nil
}
