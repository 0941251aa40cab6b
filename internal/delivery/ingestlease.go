package delivery

import (
	"sync"

	"github.com/google/uuid"

	"github.com/hookd/hookd/internal/store"
)

// The lowest-latency path: an ingest transaction inserts its deliveries
// already leased to this process (Admit reserves their places in the lanes),
// and after the commit Dispatch hands them to the lanes — no lease round
// trip, no second flush. A failed ingest returns its places at once
// (Abandon), and because its commit may have happened all the same, the
// dispatcher then gives back any lease of this process it does not hold.

// ingestTicket is what one IngestLease reserved.
type ingestTicket struct {
	m        *membership
	mu       sync.Mutex
	reserved map[uuid.UUID]int
}

func (t *ingestTicket) admit(l *lanes, webhook uuid.UUID) bool {
	if !l.reserve(webhook) {
		return false
	}
	t.mu.Lock()
	t.reserved[webhook]++
	t.mu.Unlock()
	return true
}

// IngestLease is the lease an ingest transaction may take on the deliveries
// it creates (store.IngestOptions.Lease). Pass the same request to Dispatch
// with the leased deliveries once the ingest committed, or to Abandon when
// it failed. Nil when the engine cannot take deliveries now (not running,
// stopping, between identities): the ingest then inserts unleased rows for
// the dispatcher.
func (e *Engine) IngestLease() *store.LeaseRequest {
	e.mu.Lock()
	m := e.member
	if !e.running || e.stopping || m == nil || e.checking {
		e.mu.Unlock()
		return nil
	}
	e.pending++
	e.mu.Unlock()
	now := e.now()
	t := &ingestTicket{m: m, reserved: make(map[uuid.UUID]int)}
	req := &store.LeaseRequest{
		Owner: m.owner,
		Now:   now,
		Until: e.leaseUntil(now),
		Admit: func(webhook uuid.UUID) bool { return t.admit(e.lanes, webhook) },
	}
	e.tickets.Store(req, t)
	return req
}

// takeTicket ends req's ticket: it is settled once.
func (e *Engine) takeTicket(req *store.LeaseRequest) *ingestTicket {
	if req == nil {
		return nil
	}
	v, ok := e.tickets.LoadAndDelete(req)
	if !ok {
		return nil
	}
	e.mu.Lock()
	e.pending--
	e.mu.Unlock()
	return v.(*ingestTicket)
}

// Dispatch hands the deliveries an ingest leased under req to the lanes and
// frees the places reserved for rows that were not created (duplicates).
func (e *Engine) Dispatch(req *store.LeaseRequest, leased []store.LeasedDelivery) {
	t := e.takeTicket(req)
	if t == nil {
		return
	}
	r := &reservations{l: e.lanes, held: t.reserved}
	kept, unheld := r.settle(leased)
	if len(unheld) > 0 {
		e.releaseLeases(t.m.owner, unheld)
	}
	e.startLeased(t.m, kept, "ingest")
}

// Abandon frees what a failed ingest reserved under req, and has the
// dispatcher give back any lease the ingest may have committed after all.
func (e *Engine) Abandon(req *store.LeaseRequest) {
	t := e.takeTicket(req)
	if t == nil {
		return
	}
	r := &reservations{l: e.lanes, held: t.reserved}
	_, _ = r.settle(nil)
	e.orphans.Store(true)
	e.signal()
}
