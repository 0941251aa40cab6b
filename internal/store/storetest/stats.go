package storetest

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hookd/hookd/internal/store"
)

func statsCases() []testCase {
	return []testCase{
		{"QueueStatsOfAnEmptyStoreAreZero", queueStatsEmpty},
		{"QueueStatsCountEveryDeliveryInOneState", queueStatsStates},
		{"QueueStatsCountAnExpiredLeaseAsPendingAndOverdue", queueStatsExpiredLease},
		{"QueueStatsOverdueIsTheEarliestDueTimeNobodyHolds", queueStatsOverdue},
		{"QueueStatsLookForLeasesWithinTheLeaseDurationOnly", queueStatsLeaseBound},
	}
}

// leaseFor is the lease duration the cases pass: longer than every lease
// they take (leaseAll leases for a minute).
const leaseFor = time.Hour

func queueStatsAt(t *testing.T, s store.Store, at time.Time) store.QueueStats {
	t.Helper()
	q, err := s.QueueStats(ctx(t), at, leaseFor)
	must(t, "QueueStats", err)
	return q
}

func wantCounts(t *testing.T, q store.QueueStats, pending, leased, succeeded, failed, canceled int64) {
	t.Helper()
	got := [5]int64{q.Pending, q.Leased, q.Succeeded, q.Failed, q.Canceled}
	if want := [5]int64{pending, leased, succeeded, failed, canceled}; got != want {
		t.Fatalf("QueueStats pending, leased, succeeded, failed, canceled = %v, want %v", got, want)
	}
}

func queueStatsEmpty(t *testing.T, s store.Store) {
	q := queueStatsAt(t, s, now())
	wantCounts(t, q, 0, 0, 0, 0, 0)
	if q.OldestPending != nil || q.OverdueSince != nil {
		t.Fatalf("OldestPending %v, OverdueSince %v; want nil when nothing is pending", q.OldestPending, q.OverdueSince)
	}
}

// queueStatsStates puts deliveries in every state: succeeded, failed for
// good, pending for a retry, leased, canceled (a disabled webhook's).
func queueStatsStates(t *testing.T, s store.Store) {
	tm := mkTeam(t, s)
	w := mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
	x := mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
	base := now()
	var events []uuid.UUID
	for _, ago := range []time.Duration{10, 8, 6, 4, 2} {
		ev := eventAt(t, tm.ID, "completed", base.Add(-ago*time.Minute))
		ingestOne(t, s, ev)
		events = append(events, ev.ID)
	}
	must(t, "disable", s.UpdateWebhook(ctx(t), tm.ID, x.ID, store.WebhookPatch{Status: ptr(store.WebhookDisabled)}))
	byEvent := map[uuid.UUID]store.LeasedDelivery{}
	for _, l := range leaseAll(t, s, "me", base) {
		byEvent[l.EventID] = l
	}
	if len(byEvent) != 5 {
		t.Fatalf("leased %d deliveries, want the active webhook's 5", len(byEvent))
	}
	retry := base.Add(time.Hour)
	must(t, "RecordOutcomes", s.RecordOutcomes(ctx(t), []store.Outcome{
		outcome(byEvent[events[0]], "me", 1, 200, true, nil, base),
		outcome(byEvent[events[1]], "me", 1, 500, false, nil, base),
		outcome(byEvent[events[2]], "me", 1, 500, false, &retry, base),
	}))

	q := queueStatsAt(t, s, base)
	wantCounts(t, q, 1, 2, 1, 1, 5)
	if q.Total() != 10 {
		t.Fatalf("Total = %d, want all 10 deliveries", q.Total())
	}
	// The oldest pending is the one waiting for its retry (made 6 minutes
	// ago); the two leased ones are pending too, but younger.
	waiting := getDelivery(t, s, tm.ID, w.ID, byEvent[events[2]].DeliveryID)
	sameTime(t, "OldestPending", q.OldestPending, waiting.CreatedAt)
	if q.OverdueSince != nil {
		t.Fatalf("OverdueSince = %v; nothing is due (a retry in an hour, two live leases)", *q.OverdueSince)
	}
}

// queueStatsExpiredLease: a lease past its expiry is no longer an attempt
// in flight; its delivery is due again, overdue since the expiry.
func queueStatsExpiredLease(t *testing.T, s store.Store) {
	tm := mkTeam(t, s)
	mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
	base := now()
	ingestOne(t, s, eventAt(t, tm.ID, "completed", base.Add(-time.Second)))
	ls := leaseAll(t, s, "gone", base)
	if len(ls) != 1 {
		t.Fatalf("leased %d, want 1", len(ls))
	}
	wantCounts(t, queueStatsAt(t, s, base), 0, 1, 0, 0, 0)
	q := queueStatsAt(t, s, ls[0].LeaseUntil.Add(time.Minute))
	wantCounts(t, q, 1, 0, 0, 0, 0)
	sameTime(t, "OverdueSince", q.OverdueSince, ls[0].LeaseUntil)
}

// queueStatsOverdue: the most overdue delivery is the earliest due one
// nobody holds; rows waiting for a future retry are not overdue.
func queueStatsOverdue(t *testing.T, s store.Store) {
	tm := mkTeam(t, s)
	w := mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
	base := now()
	early := eventAt(t, tm.ID, "completed", base.Add(-3*time.Minute))
	ingestOne(t, s, early)
	ingestOne(t, s, eventAt(t, tm.ID, "completed", base.Add(-time.Minute)))
	q := queueStatsAt(t, s, base)
	wantCounts(t, q, 2, 0, 0, 0, 0)
	d := listAll(t, s, tm.ID, w.ID, store.DeliveryFilter{})
	first := d[len(d)-1] // newest first
	if first.EventID != early.ID {
		t.Fatalf("log order: the last row is not the earliest event's")
	}
	sameTime(t, "OverdueSince", q.OverdueSince, *first.NextAttemptAt)
	sameTime(t, "OldestPending", q.OldestPending, first.CreatedAt)

	// Both leased, one retried in an hour: nothing is overdue.
	ls := leaseAll(t, s, "me", base)
	retry := base.Add(time.Hour)
	must(t, "RecordOutcomes", s.RecordOutcomes(ctx(t), []store.Outcome{outcome(ls[0], "me", 1, 500, false, &retry, base)}))
	q = queueStatsAt(t, s, base)
	wantCounts(t, q, 1, 1, 0, 0, 0)
	if q.OverdueSince != nil {
		t.Fatalf("OverdueSince = %v, want nil", *q.OverdueSince)
	}
	// With the other one delivered, an hour later the retry is due, and
	// overdue since its due time.
	must(t, "RecordOutcomes", s.RecordOutcomes(ctx(t), []store.Outcome{outcome(ls[1], "me", 1, 200, true, nil, base)}))
	q = queueStatsAt(t, s, retry.Add(time.Second))
	wantCounts(t, q, 1, 0, 1, 0, 0)
	sameTime(t, "OverdueSince", q.OverdueSince, retry)
}

// queueStatsLeaseBound: live leases are looked for up to now+leaseFor (the
// longest lease a process takes), bound included; a lease ending later is
// not seen as one.
func queueStatsLeaseBound(t *testing.T, s store.Store) {
	tm := mkTeam(t, s)
	mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
	base := now()
	ingestOne(t, s, eventAt(t, tm.ID, "completed", base.Add(-time.Second)))
	if ls := leaseAll(t, s, "me", base); len(ls) != 1 || !ls[0].LeaseUntil.Equal(base.Add(time.Minute)) {
		t.Fatalf("lease = %+v, want one until a minute from now", ls)
	}
	for _, c := range []struct {
		leaseFor        time.Duration
		pending, leased int64
	}{{time.Minute, 0, 1}, {time.Hour, 0, 1}, {30 * time.Second, 1, 0}} {
		q, err := s.QueueStats(ctx(t), base, c.leaseFor)
		must(t, "QueueStats", err)
		if q.Pending != c.pending || q.Leased != c.leased {
			t.Errorf("leaseFor %v: pending %d leased %d, want %d and %d", c.leaseFor, q.Pending, q.Leased, c.pending, c.leased)
		}
	}
}
