package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hookd/hookd/internal/store"
)

// scheduled creates one delivery per due time on webhook w, each pending
// (unleased) with next_attempt_at = its due time, by leasing the fresh
// deliveries and recording a retry outcome. Returns the ids in input order.
func scheduled(t *testing.T, s store.Store, team uuid.UUID, w store.Webhook, dueAt ...time.Time) []uuid.UUID {
	t.Helper()
	var ids []uuid.UUID
	for _, at := range dueAt {
		ingestOne(t, s, mkEvent(t, team, "completed"))
		var fresh []store.LeasedDelivery
		for _, l := range leaseAll(t, s, "setup", due()) {
			if l.WebhookID == w.ID {
				fresh = append(fresh, l)
			} else {
				must(t, "ReleaseLeases", s.ReleaseLeases(ctx(t), "setup", []uuid.UUID{l.DeliveryID}))
			}
		}
		if len(fresh) != 1 {
			t.Fatalf("setup leased %d deliveries of the webhook, want 1", len(fresh))
		}
		must(t, "RecordOutcomes", s.RecordOutcomes(ctx(t), []store.Outcome{outcome(fresh[0], "setup", 1, 503, false, ptr(at), now())}))
		ids = append(ids, fresh[0].DeliveryID)
	}
	return ids
}

func leaseCases() []testCase {
	return []testCase{
		{"ReturnsDueDeliveryWithWebhookData", func(t *testing.T, s store.Store) {
			tm := mkTeam(t, s)
			w := mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
			ev := mkEvent(t, tm.ID, "completed")
			ingestOne(t, s, ev)
			at := due()
			until := at.Add(30 * time.Second)
			res, err := s.Lease(ctx(t), store.LeaseRequest{Owner: "a", Now: at, Until: until, Limit: 10})
			must(t, "Lease", err)
			if len(res.Deliveries) != 1 {
				t.Fatalf("leased %d, want 1", len(res.Deliveries))
			}
			l := res.Deliveries[0]
			d := onlyDelivery(t, s, tm.ID, w.ID)
			if l.DeliveryID != d.ID || l.EventID != ev.ID || l.WebhookID != w.ID || l.TeamID != tm.ID ||
				l.EventType != completed || l.AttemptCount != 0 || string(l.Body) != string(ev.Body) ||
				l.URL != w.URL || string(l.SecretEnc) != string(w.SecretEnc) || l.Owner != "a" {
				t.Fatalf("leased = %+v", l)
			}
			sameTime(t, "LeaseUntil", &l.LeaseUntil, until)

			again, err := s.Lease(ctx(t), store.LeaseRequest{Owner: "b", Now: at, Until: until, Limit: 10})
			must(t, "second Lease", err)
			if len(again.Deliveries) != 0 {
				t.Fatalf("a live lease was leased again: %v", leasedIDs(again.Deliveries))
			}
			// Only a leased row is pending: the dispatcher wakes when its lease expires.
			sameTime(t, "NextDue with only a leased row", again.NextDue, until)
		}},
		{"NoPendingMeansNoNextDue", func(t *testing.T, s store.Store) {
			res, err := s.Lease(ctx(t), store.LeaseRequest{Owner: "a", Now: due(), Until: due().Add(time.Minute), Limit: 10})
			must(t, "Lease", err)
			if len(res.Deliveries) != 0 || res.NextDue != nil {
				t.Fatalf("empty store lease = %+v", res)
			}
			tm := mkTeam(t, s)
			mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
			ingestOne(t, s, mkEvent(t, tm.ID, "completed"))
			l := leaseAll(t, s, "a", due())
			must(t, "RecordOutcomes", s.RecordOutcomes(ctx(t), []store.Outcome{outcome(l[0], "a", 1, 200, true, nil, now())}))
			res, err = s.Lease(ctx(t), store.LeaseRequest{Owner: "a", Now: due(), Until: due().Add(time.Minute), Limit: 10})
			must(t, "Lease", err)
			if len(res.Deliveries) != 0 || res.NextDue != nil {
				t.Fatalf("lease after the only delivery succeeded = %+v", res)
			}
		}},
		{"FutureRowsWaitAndSetNextDue", func(t *testing.T, s store.Store) {
			tm := mkTeam(t, s)
			w := mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
			later := now().Add(time.Hour)
			ids := scheduled(t, s, tm.ID, w, later)
			res, err := s.Lease(ctx(t), store.LeaseRequest{Owner: "a", Now: due(), Until: due().Add(time.Minute), Limit: 10})
			must(t, "Lease", err)
			if len(res.Deliveries) != 0 {
				t.Fatalf("a future delivery was leased")
			}
			sameTime(t, "NextDue", res.NextDue, later)
			res, err = s.Lease(ctx(t), store.LeaseRequest{Owner: "a", Now: later, Until: later.Add(time.Minute), Limit: 10})
			must(t, "Lease at due time", err)
			if len(res.Deliveries) != 1 || res.Deliveries[0].DeliveryID != ids[0] || res.Deliveries[0].AttemptCount != 1 {
				t.Fatalf("lease at the due time = %+v, want %v with 1 attempt", res.Deliveries, ids[0])
			}
		}},
		{"LimitTakesEarliestDueFirst", func(t *testing.T, s store.Store) {
			tm := mkTeam(t, s)
			w := mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
			base := now().Add(time.Minute)
			offsets := []int{3, 0, 4, 1, 2}
			var times []time.Time
			for _, o := range offsets {
				times = append(times, base.Add(time.Duration(o)*time.Second))
			}
			ids := scheduled(t, s, tm.ID, w, times...)
			byDue := make([]uuid.UUID, len(ids))
			for i, o := range offsets {
				byDue[o] = ids[i]
			}
			at := base.Add(time.Hour)
			var admitted []uuid.UUID
			for round := range 3 {
				var asked int
				res, err := s.Lease(ctx(t), store.LeaseRequest{
					Owner: "a", Now: at, Until: at.Add(time.Minute), Limit: 2,
					Admit: func(uuid.UUID) bool { asked++; return true },
				})
				must(t, "Lease", err)
				if want := min(2, 5-2*round); len(res.Deliveries) != want || asked != want {
					t.Fatalf("round %d leased %d (Admit asked %d), want %d", round, len(res.Deliveries), asked, want)
				}
				admitted = append(admitted, leasedIDs(res.Deliveries)...)
			}
			if !slices.Equal(admitted, byDue) {
				t.Fatalf("lease order %v, want due order %v", admitted, byDue)
			}
		}},
		{"ExcludeSkipsFullLanes", func(t *testing.T, s store.Store) {
			tm := mkTeam(t, s)
			full := mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
			free := mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
			ingestOne(t, s, mkEvent(t, tm.ID, "completed"))
			res, err := s.Lease(ctx(t), store.LeaseRequest{Owner: "a", Now: due(), Until: due().Add(time.Minute), Limit: 10, Exclude: []uuid.UUID{full.ID}})
			must(t, "Lease", err)
			if len(res.Deliveries) != 1 || res.Deliveries[0].WebhookID != free.ID {
				t.Fatalf("lease with exclude = %v, want only the free webhook's", leasedIDs(res.Deliveries))
			}
			got := leaseAll(t, s, "a", due())
			if len(got) != 1 || got[0].WebhookID != full.ID {
				t.Fatalf("without exclude leased %v, want the excluded row now", leasedIDs(got))
			}
		}},
		{"AdmitRefusalLeavesRowsDue", func(t *testing.T, s store.Store) {
			tm := mkTeam(t, s)
			refused := mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
			mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
			ingestOne(t, s, mkEvent(t, tm.ID, "completed"))
			at := due()
			res, err := s.Lease(ctx(t), store.LeaseRequest{
				Owner: "a", Now: at, Until: at.Add(time.Minute), Limit: 10,
				Admit: func(id uuid.UUID) bool { return id != refused.ID },
			})
			must(t, "Lease", err)
			if len(res.Deliveries) != 1 || res.Deliveries[0].WebhookID == refused.ID {
				t.Fatalf("leased %+v, want only the admitted webhook's delivery", res.Deliveries)
			}
			if res.NextDue == nil || res.NextDue.After(at) {
				t.Fatalf("NextDue = %v, want a refused due row to keep it at or before %v", res.NextDue, at)
			}
			got := leaseAll(t, s, "b", at)
			if len(got) != 1 || got[0].WebhookID != refused.ID {
				t.Fatalf("refused row not leasable afterwards: %v", leasedIDs(got))
			}
		}},
		{"ExpiredLeaseIsTakenOver", func(t *testing.T, s store.Store) {
			tm := mkTeam(t, s)
			mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
			ingestOne(t, s, mkEvent(t, tm.ID, "completed"))
			at := due()
			res, err := s.Lease(ctx(t), store.LeaseRequest{Owner: "crashed", Now: at, Until: at.Add(time.Second), Limit: 10})
			must(t, "Lease", err)
			if len(res.Deliveries) != 1 {
				t.Fatalf("leased %d, want 1", len(res.Deliveries))
			}
			if got := leaseAll(t, s, "b", at.Add(500*time.Millisecond)); len(got) != 0 {
				t.Fatalf("a live lease was taken over")
			}
			got := leaseAll(t, s, "b", at.Add(time.Second))
			if len(got) != 1 || got[0].DeliveryID != res.Deliveries[0].DeliveryID {
				t.Fatalf("expired lease not taken over: %v", leasedIDs(got))
			}
		}},
		{"LeaseReadsCurrentURLAndSecret", func(t *testing.T, s store.Store) {
			tm := mkTeam(t, s)
			w := mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
			ingestOne(t, s, mkEvent(t, tm.ID, "completed"))
			must(t, "UpdateWebhook", s.UpdateWebhook(ctx(t), tm.ID, w.ID, store.WebhookPatch{
				URL: ptr("https://example.net/moved"), SecretEnc: []byte("rotated"),
			}))
			got := leaseAll(t, s, "a", due())
			if len(got) != 1 || got[0].URL != "https://example.net/moved" || string(got[0].SecretEnc) != "rotated" {
				t.Fatalf("lease after rotation = %+v", got)
			}
		}},
		{"ReleaseMakesOwnRowsDueAtOnce", func(t *testing.T, s store.Store) {
			tm := mkTeam(t, s)
			mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
			for range 3 {
				ingestOne(t, s, mkEvent(t, tm.ID, "completed"))
			}
			at := due()
			held := leaseAll(t, s, "a", at)
			if len(held) != 3 {
				t.Fatalf("leased %d, want 3", len(held))
			}
			must(t, "ReleaseLeases wrong owner", s.ReleaseLeases(ctx(t), "b", []uuid.UUID{held[0].DeliveryID}))
			must(t, "ReleaseLeases", s.ReleaseLeases(ctx(t), "a", []uuid.UUID{held[1].DeliveryID, held[2].DeliveryID}))
			must(t, "ReleaseLeases none", s.ReleaseLeases(ctx(t), "a", nil))
			got := leaseAll(t, s, "b", at)
			sameIDs(t, "leased after release", leasedIDs(got), []uuid.UUID{held[1].DeliveryID, held[2].DeliveryID})
			if got[0].AttemptCount != 0 {
				t.Fatalf("release changed the attempt count to %d", got[0].AttemptCount)
			}
		}},
	}
}
