package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookd/hookd/internal/store"
)

// TestOutcomesRollBackWithAFailedLease: the outcomes go out in the lease's
// first round trip, so a lease that fails after them (here the caller gives
// up while Admit is asked) must take them back: neither happened.
func TestOutcomesRollBackWithAFailedLease(t *testing.T) {
	s := TestStore(t)
	team, _ := fixture(t, s)
	now := time.Now().UTC()
	queue(t, s, team, now.Add(-time.Minute), 2)
	leased, err := s.Lease(t.Context(), store.LeaseRequest{Owner: "a", Now: now, Until: now.Add(time.Minute), Limit: 1})
	if err != nil || len(leased.Deliveries) != 1 {
		t.Fatalf("lease = %+v, %v", leased, err)
	}
	l := leased.Deliveries[0]
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	asked := false
	_, err = s.RecordOutcomesAndLease(ctx,
		[]store.Outcome{{DeliveryID: l.DeliveryID, WebhookID: l.WebhookID, Owner: "a", Succeeded: true, FinishedAt: now,
			Attempt: store.Attempt{DeliveryID: l.DeliveryID, AttemptNumber: 1, StartedAt: now}}},
		store.LeaseRequest{Owner: "a", Now: now, Until: now.Add(time.Minute), Limit: 10,
			Admit: func(uuid.UUID) bool { asked = true; cancel(); return true }})
	if !asked || err == nil {
		t.Fatalf("asked %v, err %v; want the call to fail after the outcomes were sent", asked, err)
	}
	var status string
	var attempts int
	if err := s.pool.QueryRow(t.Context(), `SELECT status, (SELECT count(*) FROM attempts WHERE delivery_id = $1)
		FROM deliveries WHERE id = $1`, l.DeliveryID).Scan(&status, &attempts); err != nil {
		t.Fatal(err)
	}
	if status != store.StatusPending || attempts != 0 {
		t.Fatalf("after a failed call: status %s, %d attempts; want pending and none", status, attempts)
	}
	var leasedNow int
	if err := s.pool.QueryRow(t.Context(), `SELECT count(*) FROM deliveries WHERE lease_owner IS NOT NULL`).Scan(&leasedNow); err != nil {
		t.Fatal(err)
	}
	if leasedNow != 1 {
		t.Fatalf("%d rows leased after a failed call, want only the first lease", leasedNow)
	}
}

// TestScheduledRetryWakesOtherProcesses: recording a retry in a lease
// round notifies, as RecordOutcomes does; a success alone does not.
func TestScheduledRetryWakesOtherProcesses(t *testing.T) {
	s := TestStore(t)
	connected(t, s)
	team, _ := fixture(t, s)
	now := time.Now().UTC()
	queue(t, s, team, now.Add(-time.Minute), 2)
	leased, err := s.Lease(t.Context(), store.LeaseRequest{Owner: "a", Now: now, Until: now.Add(time.Minute), Limit: 2})
	if err != nil || len(leased.Deliveries) != 2 {
		t.Fatalf("lease = %+v, %v", leased, err)
	}
	drain(s)
	outcome := func(l store.LeasedDelivery, next *time.Time) []store.Outcome {
		return []store.Outcome{{DeliveryID: l.DeliveryID, WebhookID: l.WebhookID, Owner: "a", Succeeded: next == nil,
			NextAttemptAt: next, FinishedAt: now, Attempt: store.Attempt{DeliveryID: l.DeliveryID, AttemptNumber: 1, StartedAt: now}}}
	}
	req := store.LeaseRequest{Owner: "a", Now: now, Until: now.Add(time.Minute), Limit: 0}
	if _, err := s.RecordOutcomesAndLease(t.Context(), outcome(leased.Deliveries[0], nil), req); err != nil {
		t.Fatal(err)
	}
	expectQuiet(t, s, "a success")
	retry := now.Add(5 * time.Second)
	if _, err := s.RecordOutcomesAndLease(t.Context(), outcome(leased.Deliveries[1], &retry), req); err != nil {
		t.Fatal(err)
	}
	expectWakeup(t, s, "a scheduled retry")
}
