package storetest

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hookd/hookd/internal/store"
)

// leasedOne ingests one event for a fresh team with one webhook and leases
// its delivery to owner.
func leasedOne(t *testing.T, s store.Store, owner string) (store.Team, store.Webhook, store.LeasedDelivery) {
	t.Helper()
	tm := mkTeam(t, s)
	w := mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
	ingestOne(t, s, mkEvent(t, tm.ID, "completed"))
	got := leaseAll(t, s, owner, due())
	if len(got) != 1 {
		t.Fatalf("leased %d, want 1", len(got))
	}
	return tm, w, got[0]
}

func outcomeCases() []testCase {
	return []testCase{
		{"SuccessCompletesAndStampsWebhook", func(t *testing.T, s store.Store) {
			tm, w, l := leasedOne(t, s, "a")
			finished := now()
			o := outcome(l, "a", 1, 204, true, nil, finished)
			must(t, "RecordOutcomes", s.RecordOutcomes(ctx(t), []store.Outcome{o}))
			d := getDelivery(t, s, tm.ID, w.ID, l.DeliveryID)
			if d.Status != store.StatusSucceeded || d.AttemptCount != 1 || d.NextAttemptAt != nil ||
				d.LastStatusCode == nil || *d.LastStatusCode != 204 || d.LastError != nil {
				t.Fatalf("delivery after success = %+v", d.Delivery)
			}
			sameTime(t, "CompletedAt", d.CompletedAt, finished)
			if len(d.Attempts) != 1 {
				t.Fatalf("attempts = %d, want 1", len(d.Attempts))
			}
			a := d.Attempts[0]
			if a.DeliveryID != l.DeliveryID || a.AttemptNumber != 1 || a.DurationMS != 25 || a.StatusCode == nil ||
				*a.StatusCode != 204 || a.Error != nil || a.ResponseBody != "answer 1" {
				t.Fatalf("attempt = %+v", a)
			}
			sameTime(t, "attempt StartedAt", &a.StartedAt, o.Attempt.StartedAt)
			hook, err := s.GetWebhook(ctx(t), tm.ID, w.ID)
			must(t, "GetWebhook", err)
			sameTime(t, "LastDeliveredAt", hook.LastDeliveredAt, finished)
			if got := leaseAll(t, s, "b", now().Add(time.Hour)); len(got) != 0 {
				t.Fatalf("a succeeded delivery was leased again")
			}
		}},
		{"RetryReschedulesAndClearsLease", func(t *testing.T, s store.Store) {
			tm, w, l := leasedOne(t, s, "a")
			next := now().Add(5 * time.Second)
			must(t, "RecordOutcomes", s.RecordOutcomes(ctx(t), []store.Outcome{outcome(l, "a", 1, 500, false, &next, now())}))
			d := getDelivery(t, s, tm.ID, w.ID, l.DeliveryID)
			if d.Status != store.StatusPending || d.AttemptCount != 1 || d.CompletedAt != nil ||
				d.LastStatusCode == nil || *d.LastStatusCode != 500 || d.LastError == nil || *d.LastError != "status 500" {
				t.Fatalf("delivery after a retryable failure = %+v", d.Delivery)
			}
			sameTime(t, "NextAttemptAt", d.NextAttemptAt, next)
			hook, err := s.GetWebhook(ctx(t), tm.ID, w.ID)
			must(t, "GetWebhook", err)
			if hook.LastDeliveredAt != nil {
				t.Fatalf("a failure set LastDeliveredAt")
			}
			// The lease is gone: any owner may take the row once it is due.
			got := leaseAll(t, s, "b", next)
			if len(got) != 1 || got[0].AttemptCount != 1 {
				t.Fatalf("retry lease = %+v", got)
			}
		}},
		{"FinalFailureAfterAttempts", func(t *testing.T, s store.Store) {
			tm, w, l := leasedOne(t, s, "a")
			at := now()
			for n := 1; n <= 3; n++ {
				var next *time.Time
				if n < 3 {
					next = ptr(at)
				}
				o := outcome(l, "a", n, 500+n, false, next, at)
				o.Attempt.StatusCode = nil // a connection error: no response at all
				must(t, "RecordOutcomes", s.RecordOutcomes(ctx(t), []store.Outcome{o}))
				if n < 3 {
					got := leaseAll(t, s, "a", at)
					if len(got) != 1 {
						t.Fatalf("attempt %d: retry not leasable", n)
					}
					l = got[0]
				}
			}
			d := getDelivery(t, s, tm.ID, w.ID, l.DeliveryID)
			if d.Status != store.StatusFailed || d.AttemptCount != 3 || d.NextAttemptAt != nil || d.LastStatusCode != nil ||
				d.LastError == nil || *d.LastError != "status 503" {
				t.Fatalf("delivery after final failure = %+v", d.Delivery)
			}
			sameTime(t, "CompletedAt", d.CompletedAt, at)
			if len(d.Attempts) != 3 {
				t.Fatalf("attempts = %d, want 3", len(d.Attempts))
			}
			for i, a := range d.Attempts {
				if a.AttemptNumber != i+1 || a.StatusCode != nil {
					t.Fatalf("attempt %d = %+v", i, a)
				}
			}
			if got := leaseAll(t, s, "b", at.Add(time.Hour)); len(got) != 0 {
				t.Fatalf("a failed delivery was leased again")
			}
		}},
		{"LostLeaseRecordsAttemptOnly", func(t *testing.T, s store.Store) {
			tm := mkTeam(t, s)
			w := mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
			ingestOne(t, s, mkEvent(t, tm.ID, "completed"))
			at := due()
			res, err := s.Lease(ctx(t), store.LeaseRequest{Owner: "slow", Now: at, Until: at.Add(time.Second), Limit: 1})
			must(t, "Lease", err)
			slow := res.Deliveries[0]
			taken := leaseAll(t, s, "fast", at.Add(2*time.Second))
			if len(taken) != 1 {
				t.Fatalf("takeover leased %d", len(taken))
			}
			must(t, "RecordOutcomes slow", s.RecordOutcomes(ctx(t), []store.Outcome{outcome(slow, "slow", 1, 500, false, nil, at.Add(3*time.Second))}))
			d := getDelivery(t, s, tm.ID, w.ID, slow.DeliveryID)
			if d.Status != store.StatusPending || d.AttemptCount != 0 || len(d.Attempts) != 1 {
				t.Fatalf("lost-lease outcome changed state: %+v with %d attempts", d.Delivery, len(d.Attempts))
			}
			// The new owner's lease is intact: its outcome applies.
			fin := at.Add(4 * time.Second)
			must(t, "RecordOutcomes fast", s.RecordOutcomes(ctx(t), []store.Outcome{outcome(taken[0], "fast", 1, 200, true, nil, fin)}))
			d = getDelivery(t, s, tm.ID, w.ID, slow.DeliveryID)
			if d.Status != store.StatusSucceeded || d.AttemptCount != 1 || len(d.Attempts) != 2 {
				t.Fatalf("new owner's outcome = %+v with %d attempts", d.Delivery, len(d.Attempts))
			}
		}},
		{"CanceledStaysCanceled", func(t *testing.T, s store.Store) {
			tm, w, l := leasedOne(t, s, "a")
			must(t, "disable", s.UpdateWebhook(ctx(t), tm.ID, w.ID, store.WebhookPatch{Status: ptr(store.WebhookDisabled)}))
			must(t, "RecordOutcomes", s.RecordOutcomes(ctx(t), []store.Outcome{outcome(l, "a", 1, 500, false, ptr(now()), now())}))
			d := getDelivery(t, s, tm.ID, w.ID, l.DeliveryID)
			if d.Status != store.StatusCanceled || d.AttemptCount != 0 || len(d.Attempts) != 1 {
				t.Fatalf("outcome after cancel = %+v with %d attempts", d.Delivery, len(d.Attempts))
			}
		}},
		{"BatchAndLatestLastDeliveredAt", func(t *testing.T, s store.Store) {
			tm := mkTeam(t, s)
			w := mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
			for range 3 {
				ingestOne(t, s, mkEvent(t, tm.ID, "completed"))
			}
			ls := leaseAll(t, s, "a", due())
			if len(ls) != 3 {
				t.Fatalf("leased %d, want 3", len(ls))
			}
			late := now().Add(time.Minute)
			early := late.Add(-30 * time.Second)
			must(t, "RecordOutcomes", s.RecordOutcomes(ctx(t), []store.Outcome{
				outcome(ls[0], "a", 1, 200, true, nil, late),
				outcome(ls[1], "a", 1, 200, true, nil, early),
				outcome(ls[2], "a", 1, 410, false, nil, late),
			}))
			want := map[uuid.UUID]string{ls[0].DeliveryID: store.StatusSucceeded, ls[1].DeliveryID: store.StatusSucceeded, ls[2].DeliveryID: store.StatusFailed}
			for _, d := range listAll(t, s, tm.ID, w.ID, store.DeliveryFilter{}) {
				if d.Status != want[d.ID] {
					t.Fatalf("delivery %v is %s, want %s", d.ID, d.Status, want[d.ID])
				}
			}
			hook, err := s.GetWebhook(ctx(t), tm.ID, w.ID)
			must(t, "GetWebhook", err)
			sameTime(t, "LastDeliveredAt", hook.LastDeliveredAt, late)
			must(t, "RecordOutcomes empty", s.RecordOutcomes(ctx(t), nil))
		}},
		{"RetryThenSuccessShowsEveryAttemptInOrder", func(t *testing.T, s store.Store) {
			tm, w, l := leasedOne(t, s, "a")
			at := now()
			must(t, "RecordOutcomes failure", s.RecordOutcomes(ctx(t), []store.Outcome{outcome(l, "a", 1, 503, false, ptr(at), at)}))
			again := leaseAll(t, s, "a", at)
			if len(again) != 1 || again[0].AttemptCount != 1 {
				t.Fatalf("retry lease = %+v", again)
			}
			done := at.Add(time.Second)
			ok := outcome(again[0], "a", 2, 200, true, nil, done)
			must(t, "RecordOutcomes success", s.RecordOutcomes(ctx(t), []store.Outcome{ok}))
			d := getDelivery(t, s, tm.ID, w.ID, l.DeliveryID)
			if d.Status != store.StatusSucceeded || d.AttemptCount != 2 || len(d.Attempts) != 2 {
				t.Fatalf("delivery = %+v with %d attempts", d.Delivery, len(d.Attempts))
			}
			first, second := d.Attempts[0], d.Attempts[1]
			if first.AttemptNumber != 1 || first.StatusCode == nil || *first.StatusCode != 503 || first.Error == nil ||
				first.ResponseBody != "answer 1" {
				t.Fatalf("first attempt = %+v", first)
			}
			if second.AttemptNumber != 2 || second.StatusCode == nil || *second.StatusCode != 200 || second.Error != nil ||
				second.ResponseBody != "answer 2" || second.DurationMS != 25 || second.DeliveryID != l.DeliveryID {
				t.Fatalf("second attempt = %+v", second)
			}
			sameTime(t, "second StartedAt", &second.StartedAt, ok.Attempt.StartedAt)
		}},
		{"StaleLeaseOfTheSameOwnerIsNotApplied", func(t *testing.T, s store.Store) {
			tm := mkTeam(t, s)
			w := mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
			ingestOne(t, s, mkEvent(t, tm.ID, "completed"))
			at := due()
			res, err := s.Lease(ctx(t), store.LeaseRequest{Owner: "a", Now: at, Until: at.Add(time.Second), Limit: 1})
			must(t, "Lease", err)
			stale := res.Deliveries[0]
			// The lease expired and the same owner leased the row again: the
			// first attempt's outcome names the old lease and must not apply.
			fresh := leaseAll(t, s, "a", at.Add(2*time.Second))
			if len(fresh) != 1 {
				t.Fatalf("re-leased %d, want 1", len(fresh))
			}
			must(t, "RecordOutcomes stale", s.RecordOutcomes(ctx(t), []store.Outcome{outcome(stale, "a", 1, 200, true, nil, now())}))
			d := getDelivery(t, s, tm.ID, w.ID, stale.DeliveryID)
			if d.Status != store.StatusPending || d.AttemptCount != 0 || len(d.Attempts) != 1 {
				t.Fatalf("stale outcome = %+v with %d attempts, want pending with the attempt logged", d.Delivery, len(d.Attempts))
			}
			must(t, "RecordOutcomes fresh", s.RecordOutcomes(ctx(t), []store.Outcome{outcome(fresh[0], "a", 1, 200, true, nil, now())}))
			if d := getDelivery(t, s, tm.ID, w.ID, stale.DeliveryID); d.Status != store.StatusSucceeded || len(d.Attempts) != 2 {
				t.Fatalf("fresh outcome = %+v with %d attempts", d.Delivery, len(d.Attempts))
			}
		}},
		{"UnknownDeliveryIsIgnored", func(t *testing.T, s store.Store) {
			ghost := store.LeasedDelivery{DeliveryID: newID(t), WebhookID: newID(t)}
			must(t, "RecordOutcomes", s.RecordOutcomes(ctx(t), []store.Outcome{outcome(ghost, "a", 1, 200, true, nil, now())}))
		}},
	}
}
