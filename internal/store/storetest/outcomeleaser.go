package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookd/hookd/internal/store"
)

// outcomeLeaserCases pin store.OutcomeLeaser: the result is exactly
// RecordOutcomes followed by Lease, and on error neither happened. A store
// without the capability skips them.
func outcomeLeaserCases() []testCase {
	return []testCase{
		{"RecordsBatchThenLeasesRetryDueAtOnce", func(t *testing.T, s store.Store) {
			ol := outcomeLeaser(t, s)
			tm := mkTeam(t, s)
			w := mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
			ingest(t, s, mkEvent(t, tm.ID, "completed"), mkEvent(t, tm.ID, "completed"), mkEvent(t, tm.ID, "completed"))
			ls := leaseAll(t, s, "a", due())
			if len(ls) != 3 {
				t.Fatalf("leased %d, want 3", len(ls))
			}
			fresh := ingestOne(t, s, mkEvent(t, tm.ID, "completed"))
			at := now()
			retryAt := at.Add(-time.Millisecond)
			outcomes := []store.Outcome{
				outcome(ls[0], "a", 1, 503, false, &retryAt, at), // retry due at once
				outcome(ls[1], "a", 1, 200, true, nil, at),       // success
				outcome(ls[2], "a", 1, 400, false, nil, at),      // failed for good
			}
			res, err := ol.RecordOutcomesAndLease(ctx(t), outcomes,
				store.LeaseRequest{Owner: "a", Now: due(), Until: due().Add(time.Minute), Limit: 10})
			must(t, "RecordOutcomesAndLease", err)
			freshID := deliveryOf(t, s, tm.ID, w.ID, fresh.EventID)
			sameIDs(t, "leased", leasedIDs(res.Deliveries), []uuid.UUID{ls[0].DeliveryID, freshID})
			for _, l := range res.Deliveries {
				want := 0
				if l.DeliveryID == ls[0].DeliveryID {
					want = 1 // the attempt was recorded before the lease read it
				}
				if l.AttemptCount != want || l.URL != w.URL || string(l.SecretEnc) != string(w.SecretEnc) {
					t.Fatalf("leased %+v, want attempt count %d and the webhook's URL and secret", l, want)
				}
			}
			if d := getDelivery(t, s, tm.ID, w.ID, ls[1].DeliveryID); d.Status != store.StatusSucceeded || len(d.Attempts) != 1 {
				t.Fatalf("success not recorded: %+v", d.Delivery)
			}
			if d := getDelivery(t, s, tm.ID, w.ID, ls[2].DeliveryID); d.Status != store.StatusFailed || len(d.Attempts) != 1 {
				t.Fatalf("final failure not recorded: %+v", d.Delivery)
			}
			if d := getDelivery(t, s, tm.ID, w.ID, ls[0].DeliveryID); d.Status != store.StatusPending || len(d.Attempts) != 1 {
				t.Fatalf("retry not recorded: %+v", d.Delivery)
			}
			hook, err := s.GetWebhook(ctx(t), tm.ID, w.ID)
			must(t, "GetWebhook", err)
			sameTime(t, "LastDeliveredAt", hook.LastDeliveredAt, at)
			// The new leases are live: nobody else gets those rows.
			if got := leaseAll(t, s, "b", due()); len(got) != 0 {
				t.Fatalf("rows leased by the call were leased again: %v", leasedIDs(got))
			}
		}},
		{"FailedCallRecordsNothing", func(t *testing.T, s store.Store) {
			ol := outcomeLeaser(t, s)
			tm, w, l := leasedOne(t, s, "a")
			ingestOne(t, s, mkEvent(t, tm.ID, "completed"))
			canceled, cancel := context.WithCancel(ctx(t))
			cancel()
			_, err := ol.RecordOutcomesAndLease(canceled, []store.Outcome{outcome(l, "a", 1, 200, true, nil, now())},
				store.LeaseRequest{Owner: "a", Now: due(), Until: due().Add(time.Minute), Limit: 10})
			if err == nil {
				t.Fatal("RecordOutcomesAndLease with a canceled context succeeded")
			}
			d := getDelivery(t, s, tm.ID, w.ID, l.DeliveryID)
			if d.Status != store.StatusPending || d.AttemptCount != 0 || len(d.Attempts) != 0 {
				t.Fatalf("outcome recorded by a failed call: %+v, %d attempts", d.Delivery, len(d.Attempts))
			}
			hook, err := s.GetWebhook(ctx(t), tm.ID, w.ID)
			must(t, "GetWebhook", err)
			if hook.LastDeliveredAt != nil {
				t.Fatal("a failed call set LastDeliveredAt")
			}
			// Nothing was leased: the new event's delivery is free, the old
			// one still under a's lease.
			if got := leaseAll(t, s, "b", due()); len(got) != 1 || got[0].DeliveryID == l.DeliveryID {
				t.Fatalf("after a failed call, b leased %v; want only the new delivery", leasedIDs(got))
			}
		}},
		{"OtherOwnersOutcomeKeepsState", func(t *testing.T, s store.Store) {
			ol := outcomeLeaser(t, s)
			tm, w, l := leasedOne(t, s, "a")
			at := now()
			res, err := ol.RecordOutcomesAndLease(ctx(t), []store.Outcome{outcome(l, "b", 1, 200, true, nil, at)},
				store.LeaseRequest{Owner: "b", Now: due(), Until: due().Add(time.Minute), Limit: 10})
			must(t, "RecordOutcomesAndLease", err)
			if len(res.Deliveries) != 0 {
				t.Fatalf("b leased %v, a row a still holds", leasedIDs(res.Deliveries))
			}
			d := getDelivery(t, s, tm.ID, w.ID, l.DeliveryID)
			if d.Status != store.StatusPending || d.AttemptCount != 0 || len(d.Attempts) != 1 {
				t.Fatalf("b's outcome changed a's delivery: %+v, %d attempts (want the attempt logged only)", d.Delivery, len(d.Attempts))
			}
			// The receiver got it all the same.
			hook, err := s.GetWebhook(ctx(t), tm.ID, w.ID)
			must(t, "GetWebhook", err)
			sameTime(t, "LastDeliveredAt", hook.LastDeliveredAt, at)
			if got := leaseAll(t, s, "c", due()); len(got) != 0 {
				t.Fatal("a's lease was cleared by b's outcome")
			}
		}},
	}
}

// outcomeLeaser returns s as a store.OutcomeLeaser or skips the test.
func outcomeLeaser(t *testing.T, s store.Store) store.OutcomeLeaser {
	t.Helper()
	ol, ok := s.(store.OutcomeLeaser)
	if !ok {
		t.Skip("the store does not implement store.OutcomeLeaser")
	}
	return ol
}

// deliveryOf returns the id of the webhook's delivery of event.
func deliveryOf(t *testing.T, s store.Store, team, webhook, event uuid.UUID) uuid.UUID {
	t.Helper()
	for _, d := range listAll(t, s, team, webhook, store.DeliveryFilter{}) {
		if d.EventID == event {
			return d.ID
		}
	}
	t.Fatalf("no delivery of event %s", event)
	return uuid.Nil
}
