package delivery

import (
	"sync"

	"github.com/google/uuid"

	"github.com/hookd/hookd/internal/store"
)

// lanes schedules attempts. Each webhook has a lane of perHook slots (attempts
// in flight) and a window of up to window deliveries leased ahead of them;
// the process runs at most maxRunning attempts in all and holds at most
// maxHeld deliveries (running or waiting) in all.
//
// A delivery is leased only after a reservation (reserve, called by Admit
// inside the store's lease transaction), so nothing is leased that has no
// place to wait, and what does not fit stays in the store. When an attempt
// finishes, its worker takes the next delivery at once (next): from the
// lanes waiting for a global slot first, round robin, so that under global
// contention every busy webhook gets its turn; otherwise from its own lane.
// The dispatcher is woken to refill a lane only once half its window is
// free, so one lease round serves many attempts.
type lanes struct {
	mu         sync.Mutex
	maxRunning int
	perHook    int
	window     int
	maxHeld    int

	running int // attempts in flight
	held    int // reservations: running, waiting in a window, or being leased
	hooks   map[uuid.UUID]*lane
	// waiting are lanes with deliveries ready and a free lane slot, kept back
	// only by maxRunning, oldest first.
	waiting []*lane
	// starved is set when a reservation was refused for lack of room in all;
	// the dispatcher is woken once a quarter of maxHeld is free again.
	starved bool
	wake    func()
	// onChange reports the reservations held, for the metrics.
	onChange func(held int)
}

// lane is one webhook's share.
type lane struct {
	id      uuid.UUID
	running int
	held    int
	ready   []store.LeasedDelivery // leased, waiting for a slot, oldest first
	waiting bool                   // in lanes.waiting
	// starved: a reservation was refused because the lane was full; the
	// dispatcher is woken once half the window is free again.
	starved bool
}

func newLanes(maxRunning, perHook, window int, wake func(), onChange func(int)) *lanes {
	return &lanes{
		maxRunning: maxRunning,
		perHook:    perHook,
		window:     window,
		maxHeld:    maxRunning + max(maxRunning/2, perHook),
		hooks:      make(map[uuid.UUID]*lane),
		wake:       wake,
		onChange:   onChange,
	}
}

func (l *lanes) laneLocked(id uuid.UUID) *lane {
	ln := l.hooks[id]
	if ln == nil {
		ln = &lane{id: id}
		l.hooks[id] = ln
	}
	return ln
}

// dropIfIdleLocked forgets a lane that holds nothing.
func (l *lanes) dropIfIdleLocked(ln *lane) {
	if ln.held == 0 && !ln.waiting && !ln.starved {
		delete(l.hooks, ln.id)
	}
}

// reserve takes a place for a delivery of webhook about to be leased.
func (l *lanes) reserve(webhook uuid.UUID) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	ln := l.laneLocked(webhook)
	switch {
	case ln.held >= l.perHook+l.window:
		ln.starved = true
		return false
	case l.held >= l.maxHeld:
		l.starved = true
		l.dropIfIdleLocked(ln)
		return false
	}
	ln.held++
	l.held++
	l.onChange(l.held)
	return true
}

// unreserve gives back n places of webhook that no delivery came for.
func (l *lanes) unreserve(webhook uuid.UUID, n int) {
	if n <= 0 {
		return
	}
	l.mu.Lock()
	ln := l.laneLocked(webhook)
	ln.held -= n
	l.held -= n
	l.onChange(l.held)
	wake := l.roomLocked(ln)
	l.dropIfIdleLocked(ln)
	l.mu.Unlock()
	if wake {
		l.wake()
	}
}

// roomLocked clears the starved flags whose room came back and reports
// whether the dispatcher should be woken.
func (l *lanes) roomLocked(ln *lane) bool {
	wake := false
	if ln.starved && ln.held <= l.perHook+l.window/2 {
		ln.starved = false
		wake = true
	}
	if l.starved && l.held <= l.maxHeld-max(l.maxHeld/4, 1) {
		l.starved = false
		wake = true
	}
	return wake
}

// enqueue hands over reserved, leased deliveries. It returns those that may
// start now (a slot was free); the rest wait in their lanes' windows.
func (l *lanes) enqueue(ds []store.LeasedDelivery) (start []store.LeasedDelivery) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range ds {
		ln := l.laneLocked(ds[i].WebhookID)
		if ln.running < l.perHook && l.running < l.maxRunning && len(ln.ready) == 0 {
			ln.running++
			l.running++
			start = append(start, ds[i])
			continue
		}
		ln.ready = append(ln.ready, ds[i])
		l.markWaitingLocked(ln)
	}
	return start
}

// markWaitingLocked queues ln for a global slot when only maxRunning keeps
// its ready deliveries back.
func (l *lanes) markWaitingLocked(ln *lane) {
	if !ln.waiting && len(ln.ready) > 0 && ln.running < l.perHook {
		ln.waiting = true
		l.waiting = append(l.waiting, ln)
	}
}

// finish ends an attempt of webhook and returns the delivery its slot goes
// to next, if any (ok false: none is ready). fresh decides whether a ready
// delivery may still start (its lease must outlast the attempt); those it
// refuses are returned as stale, for release.
func (l *lanes) finish(webhook uuid.UUID, fresh func(*store.LeasedDelivery) bool) (next store.LeasedDelivery, ok bool, stale []store.LeasedDelivery) {
	l.mu.Lock()
	ln := l.laneLocked(webhook)
	ln.running--
	ln.held--
	l.running--
	l.held--
	l.onChange(l.held)
	next, ok, stale = l.nextLocked(ln, fresh)
	wake := l.roomLocked(ln)
	l.dropIfIdleLocked(ln)
	l.mu.Unlock()
	if wake {
		l.wake()
	}
	return next, ok, stale
}

// nextLocked picks what a freed slot runs: a lane waiting for a global slot
// (round robin; the lane that just finished goes to the back of the queue
// if it has work too), else the lane's own next delivery.
func (l *lanes) nextLocked(freed *lane, fresh func(*store.LeasedDelivery) bool) (store.LeasedDelivery, bool, []store.LeasedDelivery) {
	var stale []store.LeasedDelivery
	for l.running < l.maxRunning {
		var ln *lane
		if len(l.waiting) > 0 {
			ln = l.waiting[0]
			l.waiting = l.waiting[1:]
			ln.waiting = false
			if ln != freed {
				l.markWaitingLocked(freed) // its turn comes after the others'
			}
		} else if len(freed.ready) > 0 && freed.running < l.perHook {
			ln = freed
		} else {
			return store.LeasedDelivery{}, false, stale
		}
		for len(ln.ready) > 0 && ln.running < l.perHook {
			d := ln.ready[0]
			ln.ready[0] = store.LeasedDelivery{}
			ln.ready = ln.ready[1:]
			if !fresh(&d) {
				stale = append(stale, d)
				ln.held--
				l.held--
				continue
			}
			ln.running++
			l.running++
			l.markWaitingLocked(ln)
			l.onChange(l.held)
			return d, true, stale
		}
		l.onChange(l.held)
		l.dropIfIdleLocked(ln)
	}
	return store.LeasedDelivery{}, false, stale
}

// room reports how many places are free in all and which webhooks' lanes
// are full (the lease walk skips them). A full lane is starved: it wakes the
// dispatcher once half its window is free.
func (l *lanes) room() (free int, full []uuid.UUID) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for id, ln := range l.hooks {
		if ln.held >= l.perHook+l.window {
			ln.starved = true
			full = append(full, id)
		}
	}
	free = l.maxHeld - l.held
	if free <= 0 {
		l.starved = true
	}
	return max(free, 0), full
}

// drain removes every delivery waiting in a window (shutdown, or a lost
// identity) and frees their places; the caller releases their leases.
func (l *lanes) drain() []store.LeasedDelivery {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []store.LeasedDelivery
	for _, ln := range l.hooks {
		out = append(out, ln.ready...)
		ln.held -= len(ln.ready)
		l.held -= len(ln.ready)
		ln.ready = nil
		ln.waiting = false
		l.dropIfIdleLocked(ln)
	}
	l.waiting = nil
	l.onChange(l.held)
	return out
}

// holding lists the deliveries this process holds in memory: waiting in a
// window or running (ids of running ones are passed in by the engine).
func (l *lanes) holding() []uuid.UUID {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ids []uuid.UUID
	for _, ln := range l.hooks {
		for i := range ln.ready {
			ids = append(ids, ln.ready[i].DeliveryID)
		}
	}
	return ids
}

// counts reports attempts in flight and reservations, in all and for one
// webhook (tests and metrics).
func (l *lanes) counts(webhook uuid.UUID) (running, held, hookRunning, hookHeld int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ln := l.hooks[webhook]; ln != nil {
		hookRunning, hookHeld = ln.running, ln.held
	}
	return l.running, l.held, hookRunning, hookHeld
}
