package delivery

import (
	"sync"

	"github.com/google/uuid"

	"github.com/hookd/hookd/internal/store"
)

// lanes schedules attempts. Each webhook has a lane of perHook slots (attempts
// in flight) and a window of up to window deliveries leased ahead of them.
// The process runs at most maxRunning attempts in all. Places are reserved
// in two budgets: a lane's first perHook places are slot places (at most
// maxSlotPlaces in all: the running attempts plus as many waiting for a
// free worker), the rest window places (at most maxWindow in all). A lane
// whose endpoint hangs can therefore fill its own slots and a share of the
// windows, never the places another webhook needs to run at all.
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
	maxWindow  int
	// maxSlotPlaces bounds slot places: twice maxRunning, so that when every
	// worker is busy as many lanes' deliveries can wait their turn.
	maxSlotPlaces int

	running int // attempts in flight
	held    int // reservations: running, waiting in a window, or being leased
	// slotHeld and windowHeld split held: each lane's first perHook places
	// are slot places, the rest window places.
	slotHeld, windowHeld int
	hooks                map[uuid.UUID]*lane
	// waiting are lanes with deliveries ready and a free lane slot, kept back
	// only by maxRunning, oldest first.
	waiting []*lane
	// slotStarved and windowStarved are set when a reservation was refused
	// for lack of slot or window places in all; the dispatcher is woken once
	// some are free again.
	slotStarved, windowStarved bool
	wake                       func()
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
	// starved: a reservation for this lane was refused (it was full, or a
	// budget in all was); the dispatcher is woken once it holds no more than
	// its slots and half its window, so one lease round refills many places.
	starved bool
}

func newLanes(maxRunning, perHook, window int, wake func(), onChange func(int)) *lanes {
	return &lanes{
		maxRunning:    maxRunning,
		perHook:       perHook,
		window:        window,
		maxWindow:     maxRunning,
		maxSlotPlaces: 2 * maxRunning,
		hooks:         make(map[uuid.UUID]*lane),
		wake:          wake,
		onChange:      onChange,
	}
}

// adjustLocked changes ln's reservations by delta and keeps the totals.
func (l *lanes) adjustLocked(ln *lane, delta int) {
	slotBefore := min(ln.held, l.perHook)
	ln.held += delta
	slotAfter := min(ln.held, l.perHook)
	l.held += delta
	l.slotHeld += slotAfter - slotBefore
	l.windowHeld += delta - (slotAfter - slotBefore)
	l.onChange(l.held)
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
	case ln.held < l.perHook && l.slotHeld >= l.maxSlotPlaces:
		l.slotStarved = true
		ln.starved = true
		return false
	case ln.held >= l.perHook && l.windowHeld >= l.maxWindow:
		l.windowStarved = true
		ln.starved = true
		return false
	}
	l.adjustLocked(ln, 1)
	return true
}

// unreserve gives back n places of webhook that no delivery came for.
func (l *lanes) unreserve(webhook uuid.UUID, n int) {
	if n <= 0 {
		return
	}
	l.mu.Lock()
	ln := l.laneLocked(webhook)
	l.adjustLocked(ln, -n)
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
	if l.slotStarved && l.slotHeld <= l.maxSlotPlaces-max(l.maxSlotPlaces/16, 1) {
		l.slotStarved = false
		wake = true
	}
	if l.windowStarved && l.windowHeld <= l.maxWindow-max(l.maxWindow/4, 1) {
		l.windowStarved = false
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
	l.running--
	l.adjustLocked(ln, -1)
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
				l.adjustLocked(ln, -1)
				continue
			}
			ln.running++
			l.running++
			l.markWaitingLocked(ln)
			return d, true, stale
		}
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
	windowsFull := l.windowHeld >= l.maxWindow
	for id, ln := range l.hooks {
		switch {
		case ln.held >= l.perHook+l.window:
			ln.starved = true
			full = append(full, id)
		case windowsFull && ln.held >= l.perHook:
			l.windowStarved = true
			full = append(full, id)
		}
	}
	free = max(l.maxSlotPlaces-l.slotHeld, 0) + max(l.maxWindow-l.windowHeld, 0)
	if l.slotHeld >= l.maxSlotPlaces {
		l.slotStarved = true
	}
	return free, full
}

// drain removes every delivery waiting in a window (shutdown, or a lost
// identity) and frees their places; the caller releases their leases.
func (l *lanes) drain() []store.LeasedDelivery {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []store.LeasedDelivery
	for _, ln := range l.hooks {
		out = append(out, ln.ready...)
		l.adjustLocked(ln, -len(ln.ready))
		ln.ready = nil
		ln.waiting = false
		l.dropIfIdleLocked(ln)
	}
	l.waiting = nil
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
