package storetest

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hookd/hookd/internal/store"
)

// takeoverWithin is how soon the leases of a dead owner must be voided
// (SPEC §7: "within seconds"; the product promises 5 s).
const takeoverWithin = 5 * time.Second

func register(t *testing.T, s store.Store) store.Registration {
	t.Helper()
	r, err := s.Register(ctx(t))
	must(t, "Register", err)
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// leaseUnder leases every due delivery for owner with a long lease.
func leaseUnder(t *testing.T, s store.Store, owner string) []store.LeasedDelivery {
	t.Helper()
	at := due()
	res, err := s.Lease(ctx(t), store.LeaseRequest{Owner: owner, Now: at, Until: at.Add(time.Hour), Limit: 1000})
	must(t, "Lease", err)
	return res.Deliveries
}

func livenessCases() []testCase {
	return []testCase{
		{"RegisterGivesEachIdentityItsOwnName", func(t *testing.T, s store.Store) {
			a := register(t, s)
			must(t, "Close", a.Close())
			b := register(t, s)
			if a.Owner() == "" || a.Owner() == b.Owner() {
				t.Fatalf("owners %q and %q, want two distinct non-empty names", a.Owner(), b.Owner())
			}
		}},
		{"DeadOwnersLeasesAreTakenOverWithinSeconds", func(t *testing.T, s store.Store) {
			tm := mkTeam(t, s)
			mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
			ingest(t, s, mkEvent(t, tm.ID, "completed"), mkEvent(t, tm.ID, "completed"))
			dead := register(t, s)
			held := leaseUnder(t, s, dead.Owner())
			if len(held) != 2 {
				t.Fatalf("leased %d, want 2", len(held))
			}
			must(t, "Close", dead.Close()) // the process is gone: so is its proof of life
			start := time.Now()
			heir := register(t, s)
			var got []store.LeasedDelivery
			for time.Since(start) < takeoverWithin+time.Second {
				_, err := s.ReapDeadOwners(ctx(t), time.Now())
				must(t, "ReapDeadOwners", err)
				if got = leaseUnder(t, s, heir.Owner()); len(got) > 0 {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if took := time.Since(start); len(got) != 2 || took > takeoverWithin {
				t.Fatalf("took over %d leases after %v, want 2 within %v", len(got), took, takeoverWithin)
			}
			sameIDs(t, "taken over", leasedIDs(got), leasedIDs(held))
		}},
		{"LiveOwnersLeasesAreKept", func(t *testing.T, s store.Store) {
			tm := mkTeam(t, s)
			mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
			ingestOne(t, s, mkEvent(t, tm.ID, "completed"))
			alive := register(t, s)
			if got := leaseUnder(t, s, alive.Owner()); len(got) != 1 {
				t.Fatalf("leased %d, want 1", len(got))
			}
			deadline := time.Now().Add(3 * time.Second) // past any grace period
			for time.Now().Before(deadline) {
				n, err := s.ReapDeadOwners(ctx(t), time.Now())
				must(t, "ReapDeadOwners", err)
				if n != 0 {
					t.Fatalf("ReapDeadOwners voided %d leases of a live owner", n)
				}
				time.Sleep(250 * time.Millisecond)
			}
			if got := leaseUnder(t, s, "other"); len(got) != 0 {
				t.Fatalf("a live owner's lease was taken: %v", leasedIDs(got))
			}
		}},
		{"ReleaseLeasesExceptKeepsOnlyWhatIsHeld", func(t *testing.T, s store.Store) {
			tm := mkTeam(t, s)
			mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
			ingest(t, s, mkEvent(t, tm.ID, "completed"), mkEvent(t, tm.ID, "completed"), mkEvent(t, tm.ID, "completed"))
			mine := leaseUnder(t, s, "a")
			if len(mine) != 3 {
				t.Fatalf("leased %d, want 3", len(mine))
			}
			n, err := s.ReleaseLeasesExcept(ctx(t), "b", nil)
			must(t, "ReleaseLeasesExcept of another owner", err)
			if n != 0 {
				t.Fatalf("released %d leases of another owner", n)
			}
			n, err = s.ReleaseLeasesExcept(ctx(t), "a", []uuid.UUID{mine[0].DeliveryID})
			must(t, "ReleaseLeasesExcept", err)
			if n != 2 {
				t.Fatalf("released %d, want 2", n)
			}
			got := leaseUnder(t, s, "b")
			sameIDs(t, "due again", leasedIDs(got), []uuid.UUID{mine[1].DeliveryID, mine[2].DeliveryID})
		}},
	}
}
