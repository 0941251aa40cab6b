package delivery

import (
	"context"
	"time"
)

// ensureMember returns the identity to lease under, registering a new one
// when there is none (at start, and after one was lost), retrying until the
// store answers or ctx ends (nil then).
func (e *Engine) ensureMember(ctx context.Context) *membership {
	if m := e.current(); m != nil {
		return m
	}
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		rctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
		reg, err := e.q.Register(rctx)
		cancel()
		if err == nil {
			mctx, mcancel := context.WithCancel(e.attemptCtx)
			m := &membership{reg: reg, owner: reg.Owner(), ctx: mctx, cancel: mcancel}
			e.mu.Lock()
			e.member = m
			e.mu.Unlock()
			go e.watch(m)
			e.log.Info("registered as lease owner", "owner", m.owner)
			e.leaseWanted.Store(true)
			return m
		}
		e.log.Warn("cannot register as lease owner; retrying", "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, registerRetryMax)
	}
	return nil
}

// watch fences m as soon as its proof of life is lost.
func (e *Engine) watch(m *membership) {
	select {
	case <-m.reg.Lost():
		e.fence(m)
	case <-m.ctx.Done():
	}
}

// fence stops everything done under a lost identity: other processes may
// take its leases over within seconds, so its attempts in flight are
// abandoned (canceled, their outcomes not recorded: the deliveries will be
// made again) and the deliveries waiting in the windows are dropped. The
// dispatcher then registers a new identity.
func (e *Engine) fence(m *membership) {
	e.mu.Lock()
	if e.member == m {
		e.member = nil
	}
	e.mu.Unlock()
	e.metrics.identitiesLost.Inc()
	e.log.Warn("lost the proof of life of this lease owner (the store connection holding it died); abandoning its attempts in flight and registering anew",
		"owner", m.owner)
	m.cancel()
	e.releaseWindow(m)
	_ = m.reg.Close()
	e.Wake()
}

// reapDeadOwners voids, every reapEvery, the leases of owners that died, so
// their deliveries are taken over within seconds instead of a lease period.
func (e *Engine) reapDeadOwners(ctx context.Context) {
	ticker := time.NewTicker(reapEvery)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		rctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
		n, err := e.q.ReapDeadOwners(rctx, e.now())
		cancel()
		switch {
		case err != nil && ctx.Err() == nil:
			e.log.Warn("looking for dead lease owners failed", "err", err)
		case n > 0:
			e.metrics.reaped.Add(float64(n))
			e.log.Info("took over the leases of a dead process", "deliveries", n)
			e.Wake()
		}
	}
}
