package delivery

import (
	"sync"
	"time"

	"github.com/google/uuid"
)

// lanes counts reserved attempt slots, per webhook and in all. A slot is
// reserved before a delivery is leased (Admit runs inside the store's lease
// transaction) and freed once the attempt's outcome is handed to the writer.
type lanes struct {
	mu         sync.Mutex
	maxTotal   int
	maxPerHook int
	total      int
	perHook    map[uuid.UUID]int
	// leftBehind is set when due work could not be leased for lack of room;
	// the next freed slot then wakes the dispatcher.
	leftBehind bool
	wake       func()
	onChange   func(total int)
	// tickets hold slots reserved by ingest transactions (IngestLease) until
	// Dispatch claims them, oldest first.
	tickets []*ingestTicket
}

// ingestTicket is the set of slots one ingest transaction reserved. If the
// ingest fails, or its caller never calls Dispatch, the slots come back when
// the ticket's lease time is over (by then the leases are void anyway).
type ingestTicket struct {
	until    time.Time
	reserved map[uuid.UUID]int
	total    int
}

func newLanes(maxTotal, maxPerHook int, wake func(), onChange func(int)) *lanes {
	return &lanes{
		maxTotal:   maxTotal,
		maxPerHook: maxPerHook,
		perHook:    make(map[uuid.UUID]int),
		wake:       wake,
		onChange:   onChange,
	}
}

func (l *lanes) tryReserveLocked(webhook uuid.UUID) bool {
	if l.total >= l.maxTotal || l.perHook[webhook] >= l.maxPerHook {
		l.leftBehind = true
		return false
	}
	l.forceReserveLocked(webhook)
	return true
}

func (l *lanes) forceReserveLocked(webhook uuid.UUID) {
	l.total++
	l.perHook[webhook]++
	l.onChange(l.total)
}

func (l *lanes) releaseLocked(webhook uuid.UUID, n int) {
	if n <= 0 {
		return
	}
	l.total -= n
	if left := l.perHook[webhook] - n; left > 0 {
		l.perHook[webhook] = left
	} else {
		delete(l.perHook, webhook)
	}
	l.onChange(l.total)
	if l.leftBehind {
		l.leftBehind = false
		l.wake()
	}
}

// release frees one slot of webhook.
func (l *lanes) release(webhook uuid.UUID) {
	l.mu.Lock()
	l.releaseLocked(webhook, 1)
	l.mu.Unlock()
}

// room reports how many slots are free in all and which webhooks have a full
// lane. When either limits the next lease round, a freed slot will wake the
// dispatcher.
func (l *lanes) room() (free int, full []uuid.UUID) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for id, n := range l.perHook {
		if n >= l.maxPerHook {
			full = append(full, id)
		}
	}
	free = l.maxTotal - l.total
	if free <= 0 || len(full) > 0 {
		l.leftBehind = true
	}
	return max(free, 0), full
}

// markLeftBehind records that due work may remain. It reports whether a slot
// is free right now, in which case the caller should lease again at once
// instead of waiting for a release that may already have happened.
func (l *lanes) markLeftBehind() (roomNow bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.total < l.maxTotal {
		return true
	}
	l.leftBehind = true
	return false
}

// leaseRound tallies the slots Admit reserved during one store.Lease call so
// that the ones not matched by a leased row (the store refused it, or the
// transaction failed) are given back.
type leaseRound struct {
	l        *lanes
	reserved map[uuid.UUID]int
	refused  bool // Admit said no at least once: due work was left behind
}

func (l *lanes) newRound() *leaseRound {
	return &leaseRound{l: l, reserved: make(map[uuid.UUID]int)}
}

func (r *leaseRound) admit(webhook uuid.UUID) bool {
	r.l.mu.Lock()
	defer r.l.mu.Unlock()
	if !r.l.tryReserveLocked(webhook) {
		r.refused = true
		return false
	}
	r.reserved[webhook]++
	return true
}

// settle matches leased rows to reserved slots and frees the surplus.
func (r *leaseRound) settle(leased []uuid.UUID) {
	r.l.mu.Lock()
	defer r.l.mu.Unlock()
	for _, id := range leased {
		if r.reserved[id] > 0 {
			r.reserved[id]--
			continue
		}
		// A row leased without Admit (a store that ignores it) still needs
		// its slot: count it so that the books balance when it finishes.
		r.l.forceReserveLocked(id)
	}
	for id, n := range r.reserved {
		r.l.releaseLocked(id, n)
	}
	clear(r.reserved)
}

// admitIngest reserves a slot for a delivery an ingest transaction is about
// to lease, on ticket t.
func (l *lanes) admitIngest(t *ingestTicket, webhook uuid.UUID) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.tryReserveLocked(webhook) {
		return false
	}
	if t.total == 0 {
		l.tickets = append(l.tickets, t)
	}
	t.reserved[webhook]++
	t.total++
	return true
}

// claimIngest takes the slot an ingest reserved for a delivery of webhook,
// or reserves a fresh one when the ticket already expired. false: no room.
func (l *lanes) claimIngest(webhook uuid.UUID) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, t := range l.tickets {
		if t.reserved[webhook] == 0 {
			continue
		}
		t.reserved[webhook]--
		t.total--
		if t.total == 0 {
			l.tickets = append(l.tickets[:i], l.tickets[i+1:]...)
		}
		return true
	}
	return l.tryReserveLocked(webhook)
}

// expireTickets frees the slots of ingest tickets whose leases are over.
func (l *lanes) expireTickets(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	kept := l.tickets[:0]
	for _, t := range l.tickets {
		if now.Before(t.until) {
			kept = append(kept, t)
			continue
		}
		for id, n := range t.reserved {
			l.releaseLocked(id, n)
		}
	}
	clear(l.tickets[len(kept):])
	l.tickets = kept
}

// inUse reports the slots reserved in all and for one webhook (for tests).
func (l *lanes) inUse(webhook uuid.UUID) (total, perHook int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total, l.perHook[webhook]
}
