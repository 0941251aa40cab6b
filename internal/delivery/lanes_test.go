package delivery

import (
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"pgregory.net/rapid"

	"github.com/hookd/hookd/internal/store"
)

func testLanes(maxRunning, perHook, window int) (*lanes, *int) {
	wakes := new(int)
	return newLanes(maxRunning, perHook, window, func() { *wakes++ }, func(int) {}), wakes
}

func leased(webhook uuid.UUID) store.LeasedDelivery {
	return store.LeasedDelivery{DeliveryID: uuid.New(), WebhookID: webhook, LeaseUntil: time.Now().Add(time.Hour)}
}

func always(*store.LeasedDelivery) bool { return true }

// A lane runs perHook attempts and holds window more behind them; a freed
// slot goes straight to the lane's next delivery, in order.
func TestLaneRunsItsWindowInOrder(t *testing.T) {
	l, _ := testLanes(10, 2, 2)
	a := uuid.New()
	var ds []store.LeasedDelivery
	for range 5 {
		if !l.reserve(a) {
			break
		}
		ds = append(ds, leased(a))
	}
	if len(ds) != 4 {
		t.Fatalf("reserved %d places, want perHook+window = 4", len(ds))
	}
	started := l.enqueue(ds)
	if len(started) != 2 || started[0].DeliveryID != ds[0].DeliveryID || started[1].DeliveryID != ds[1].DeliveryID {
		t.Fatalf("started %d, want the first 2", len(started))
	}
	next, ok, stale := l.finish(a, always)
	if !ok || next.DeliveryID != ds[2].DeliveryID || len(stale) != 0 {
		t.Fatalf("finish gave %v %v, want the third delivery", next.DeliveryID, ok)
	}
	next, ok, _ = l.finish(a, always)
	if !ok || next.DeliveryID != ds[3].DeliveryID {
		t.Fatalf("finish gave %v %v, want the fourth delivery", next.DeliveryID, ok)
	}
	for range 2 {
		if _, ok, _ := l.finish(a, always); ok {
			t.Fatal("finish gave work from an empty lane")
		}
	}
	if running, held, hr, hh := l.counts(a); running != 0 || held != 0 || hr != 0 || hh != 0 || len(l.hooks) != 0 {
		t.Fatalf("after everything finished: running %d held %d (lane %d/%d), lanes %d", running, held, hr, hh, len(l.hooks))
	}
}

// A delivery whose lease no longer covers an attempt is not started: it is
// handed back for release, and the slot goes to the next one.
func TestStaleDeliveryIsNotStarted(t *testing.T) {
	l, _ := testLanes(10, 1, 2)
	a := uuid.New()
	ds := []store.LeasedDelivery{leased(a), leased(a), leased(a)}
	for range ds {
		l.reserve(a)
	}
	l.enqueue(ds)
	next, ok, stale := l.finish(a, func(d *store.LeasedDelivery) bool { return d.DeliveryID != ds[1].DeliveryID })
	if !ok || next.DeliveryID != ds[2].DeliveryID || len(stale) != 1 || stale[0].DeliveryID != ds[1].DeliveryID {
		t.Fatalf("finish = %v %v, stale %v", next.DeliveryID, ok, stale)
	}
	if _, held, _, _ := l.counts(a); held != 1 {
		t.Fatalf("held %d after a stale delivery was dropped, want 1 (the running one)", held)
	}
}

// Under global contention a freed slot goes to the lanes waiting for one
// before its own lane runs again: no busy webhook starves another.
func TestGlobalSlotsGoRoundRobin(t *testing.T) {
	l, _ := testLanes(2, 2, 2)
	a, b := uuid.New(), uuid.New()
	var all []store.LeasedDelivery
	for _, h := range []uuid.UUID{a, a, a, b} {
		if !l.reserve(h) {
			t.Fatalf("reserve refused for %v", h)
		}
		all = append(all, leased(h))
	}
	started := l.enqueue(all)
	if len(started) != 2 || started[0].WebhookID != a || started[1].WebhookID != a {
		t.Fatalf("started %v, want both of a", started)
	}
	var order []uuid.UUID
	running := []uuid.UUID{a, a}
	for len(running) > 0 {
		h := running[0]
		running = running[1:]
		next, ok, _ := l.finish(h, always)
		if ok {
			order = append(order, next.WebhookID)
			running = append(running, next.WebhookID)
		}
	}
	if want := []uuid.UUID{b, a}; !slices.Equal(order, want) {
		t.Fatalf("slots went to %v, want b before a's own third delivery", names(order, a, b, uuid.Nil))
	}
}

func names(ids []uuid.UUID, a, b, c uuid.UUID) []string {
	var out []string
	for _, id := range ids {
		out = append(out, map[uuid.UUID]string{a: "a", b: "b", c: "c"}[id])
	}
	return out
}

// A full lane wakes the dispatcher once half its window is free again, not
// on every finished attempt: one lease round refills many places.
func TestFullLaneWakesAtHalfWindow(t *testing.T) {
	l, wakes := testLanes(100, 2, 4)
	a := uuid.New()
	var ds []store.LeasedDelivery
	for l.reserve(a) {
		ds = append(ds, leased(a))
	}
	if len(ds) != 6 {
		t.Fatalf("reserved %d, want 6", len(ds))
	}
	l.enqueue(ds)
	for i := 1; i <= 3; i++ {
		l.finish(a, always)
		if want := map[bool]int{true: 1, false: 0}[i >= 2]; *wakes != want {
			t.Fatalf("after %d finished attempts: %d wakes, want %d", i, *wakes, want)
		}
	}
	free, full := l.room()
	if free == 0 || len(full) != 0 {
		t.Fatalf("room = %d, full %v", free, full)
	}
}

// Property: whatever the order of reservations, hand-overs, finished
// attempts and drains, the caps hold, the books balance, no delivery is
// lost or started twice, and each lane starts its deliveries in order.
func TestLanesProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		maxRunning := rapid.IntRange(1, 6).Draw(t, "maxRunning")
		perHook := rapid.IntRange(1, 4).Draw(t, "perHook")
		window := rapid.IntRange(0, 4).Draw(t, "window")
		l, _ := testLanes(maxRunning, perHook, window)
		hooks := []uuid.UUID{uuid.New(), uuid.New(), uuid.New()}
		reserved := map[uuid.UUID]int{}
		var running []store.LeasedDelivery
		startedAt := map[uuid.UUID]int{} // delivery -> start order
		enqueuedAt := map[uuid.UUID]int{}
		hookOf := map[uuid.UUID]uuid.UUID{}
		seq := 0
		outstanding := map[uuid.UUID]bool{} // enqueued, not yet started or drained
		start := func(d store.LeasedDelivery) {
			if _, again := startedAt[d.DeliveryID]; again {
				t.Fatalf("delivery %v started twice", d.DeliveryID)
			}
			seq++
			startedAt[d.DeliveryID] = seq
			delete(outstanding, d.DeliveryID)
			running = append(running, d)
		}
		steps := rapid.IntRange(1, 200).Draw(t, "steps")
		for range steps {
			h := hooks[rapid.IntRange(0, len(hooks)-1).Draw(t, "hook")]
			switch rapid.IntRange(0, 4).Draw(t, "op") {
			case 0:
				if l.reserve(h) {
					reserved[h]++
				}
			case 1:
				if reserved[h] > 0 {
					reserved[h]--
					l.unreserve(h, 1)
				}
			case 2:
				if reserved[h] > 0 {
					n := rapid.IntRange(1, reserved[h]).Draw(t, "n")
					reserved[h] -= n
					var ds []store.LeasedDelivery
					for range n {
						d := leased(h)
						enqueuedAt[d.DeliveryID] = len(enqueuedAt)
						hookOf[d.DeliveryID] = h
						outstanding[d.DeliveryID] = true
						ds = append(ds, d)
					}
					for _, d := range l.enqueue(ds) {
						start(d)
					}
				}
			case 3:
				if len(running) > 0 {
					i := rapid.IntRange(0, len(running)-1).Draw(t, "which")
					d := running[i]
					running = append(running[:i], running[i+1:]...)
					if next, ok, _ := l.finish(d.WebhookID, always); ok {
						start(next)
					}
				}
			case 4:
				for _, d := range l.drain() {
					if !outstanding[d.DeliveryID] {
						t.Fatalf("drained %v, which was not waiting", d.DeliveryID)
					}
					delete(outstanding, d.DeliveryID)
				}
			}
			checkLanes(t, l, maxRunning, perHook, window, len(running), reserved)
		}
		// Each lane started its deliveries in the order they were handed over.
		byStart := make([]uuid.UUID, 0, len(startedAt))
		for id := range startedAt {
			byStart = append(byStart, id)
		}
		slices.SortFunc(byStart, func(x, y uuid.UUID) int { return startedAt[x] - startedAt[y] })
		last := map[uuid.UUID]int{}
		for _, id := range byStart {
			h := hookOf[id]
			if prev, ok := last[h]; ok && enqueuedAt[id] < prev {
				t.Fatalf("lane %v started a delivery handed over before one it already started", h)
			}
			last[h] = enqueuedAt[id]
		}
		// Finishing everything runs every delivery still waiting.
		for len(running) > 0 {
			d := running[0]
			running = running[1:]
			if next, ok, _ := l.finish(d.WebhookID, always); ok {
				start(next)
			}
		}
		if len(outstanding) != 0 {
			t.Fatalf("%d deliveries were never started nor drained", len(outstanding))
		}
	})
}

func checkLanes(t *rapid.T, l *lanes, maxRunning, perHook, window, running int, reserved map[uuid.UUID]int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.running != running || l.running > maxRunning {
		t.Fatalf("running %d (tracked %d), cap %d", l.running, running, maxRunning)
	}
	if l.slotHeld > l.maxSlotPlaces || l.windowHeld > l.maxWindow || l.slotHeld+l.windowHeld != l.held {
		t.Fatalf("held %d = slots %d (cap %d) + windows %d (cap %d)", l.held, l.slotHeld, l.maxSlotPlaces, l.windowHeld, l.maxWindow)
	}
	sumHeld, sumRunning := 0, 0
	for id, ln := range l.hooks {
		if ln.running > perHook || ln.held > perHook+window {
			t.Fatalf("lane %v: running %d held %d over perHook %d window %d", id, ln.running, ln.held, perHook, window)
		}
		if ln.held != ln.running+len(ln.ready)+reserved[id] {
			t.Fatalf("lane %v: held %d != running %d + ready %d + reserved %d", id, ln.held, ln.running, len(ln.ready), reserved[id])
		}
		sumHeld += ln.held
		sumRunning += ln.running
	}
	if sumHeld != l.held || sumRunning != l.running {
		t.Fatalf("books: lanes hold %d/%d, totals %d/%d", sumHeld, sumRunning, l.held, l.running)
	}
}
