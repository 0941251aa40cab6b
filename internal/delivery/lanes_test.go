package delivery

import (
	"testing"
	"time"

	"github.com/google/uuid"
)

func testLanes(total, perHook int) (*lanes, *int) {
	wakes := new(int)
	return newLanes(total, perHook, func() { *wakes++ }, func(int) {}), wakes
}

func TestLanesCapPerWebhookAndInAll(t *testing.T) {
	l, wakes := testLanes(3, 2)
	a, b := uuid.New(), uuid.New()
	r := l.newRound()
	got := []bool{r.admit(a), r.admit(a), r.admit(a), r.admit(b), r.admit(b)}
	want := []bool{true, true, false, true, false}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("admit #%d = %v, want %v (all: %v)", i+1, got[i], want[i], got)
		}
	}
	r.settle([]uuid.UUID{a, a, b})
	free, full := l.room()
	if free != 0 || len(full) != 1 || full[0] != a {
		t.Fatalf("room = %d free, full %v; want 0 and [a]", free, full)
	}
	l.release(a)
	if *wakes != 1 {
		t.Fatalf("a freed slot with work left behind woke %d times, want 1", *wakes)
	}
	l.release(a)
	l.release(b)
	if *wakes != 1 {
		t.Fatalf("releases with nothing left behind woke again: %d", *wakes)
	}
	if total, n := l.inUse(a); total != 0 || n != 0 || len(l.perHook) != 0 {
		t.Fatalf("after releasing everything: total %d, a %d, map %v", total, n, l.perHook)
	}
}

// Slots reserved by Admit for rows the store did not lease come back.
func TestLeaseRoundSettleFreesUnmatchedSlots(t *testing.T) {
	l, _ := testLanes(10, 10)
	a, b := uuid.New(), uuid.New()
	r := l.newRound()
	r.admit(a)
	r.admit(a)
	r.admit(b)
	r.settle([]uuid.UUID{a})
	if total, n := l.inUse(a); total != 1 || n != 1 {
		t.Fatalf("after settle: total %d, a %d; want 1, 1", total, n)
	}
	// A failed round (store error) gives back everything.
	r = l.newRound()
	r.admit(b)
	r.settle(nil)
	if total, _ := l.inUse(b); total != 1 {
		t.Fatalf("after a failed round: total %d, want 1", total)
	}
	// A row leased without Admit is counted so that its release balances.
	r = l.newRound()
	r.settle([]uuid.UUID{b})
	l.release(b)
	l.release(a)
	if total, _ := l.inUse(a); total != 0 {
		t.Fatalf("books do not balance: total %d", total)
	}
}

func TestIngestTicketsClaimAndExpire(t *testing.T) {
	l, _ := testLanes(4, 4)
	a := uuid.New()
	now := time.Now()
	t1 := &ingestTicket{until: now.Add(time.Minute), reserved: map[uuid.UUID]int{}}
	t2 := &ingestTicket{until: now.Add(time.Second), reserved: map[uuid.UUID]int{}}
	l.admitIngest(t1, a)
	l.admitIngest(t2, a)
	l.admitIngest(t2, a)
	if total, _ := l.inUse(a); total != 3 {
		t.Fatalf("reserved %d, want 3", total)
	}
	// Dispatch claims a reserved slot: no new reservation.
	if !l.claimIngest(a) {
		t.Fatal("claim of a reserved slot refused")
	}
	if total, _ := l.inUse(a); total != 3 || len(l.tickets) != 1 {
		t.Fatalf("after claim: reserved %d, tickets %d; want 3, 1", total, len(l.tickets))
	}
	// The second ticket's ingest never dispatched: its slots return at expiry.
	l.expireTickets(now.Add(2 * time.Second))
	if total, _ := l.inUse(a); total != 1 || len(l.tickets) != 0 {
		t.Fatalf("after expiry: reserved %d, tickets %d; want 1, 0", total, len(l.tickets))
	}
	// A claim with no ticket left reserves afresh, within the caps.
	for range 3 {
		if !l.claimIngest(a) {
			t.Fatal("claim with room refused")
		}
	}
	if l.claimIngest(a) {
		t.Fatal("claim beyond the cap admitted")
	}
}

func TestSecretCacheIsBoundedAndKeyedByCiphertext(t *testing.T) {
	box := newBox(t)
	c := newSecretCache(box, 2)
	for _, s := range []string{"one", "two", "three", "two"} {
		got, err := c.get(box.Seal([]byte(s)))
		if err != nil || got != s {
			t.Fatalf("get(%q) = %q, %v", s, got, err)
		}
	}
	if n := c.size(); n != 2 {
		t.Fatalf("cache holds %d secrets, bound 2", n)
	}
	if _, err := c.get([]byte("garbage")); err == nil {
		t.Fatal("garbage ciphertext decrypted")
	}
}
