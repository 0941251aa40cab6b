package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hookd/hookd/internal/store"
)

// leasedBatch ingests n events for a store with two webhooks (2n
// deliveries) and leases them all to owner "a".
func leasedBatch(t *testing.T, n int) (*Store, []store.LeasedDelivery) {
	t.Helper()
	s, team := benchStore(t)
	ctx := context.Background()
	events := make([]store.NewEvent, n)
	for i := range events {
		events[i] = benchEvent(team)
	}
	if _, err := s.IngestEvents(ctx, events, store.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	res, err := s.Lease(ctx, store.LeaseRequest{Owner: "a", Now: now, Until: now.Add(time.Minute), Limit: 2 * n})
	if err != nil || len(res.Deliveries) != 2*n {
		t.Fatalf("Lease = %d, %v; want %d", len(res.Deliveries), err, 2*n)
	}
	return s, res.Deliveries
}

func outcomeOf(l store.LeasedDelivery, owner string, code int, ok bool, next *time.Time, at time.Time, body string) store.Outcome {
	msg := "status " + body
	o := store.Outcome{DeliveryID: l.DeliveryID, WebhookID: l.WebhookID, Owner: owner, LeaseUntil: l.LeaseUntil,
		Succeeded: ok, NextAttemptAt: next, FinishedAt: at,
		Attempt: store.Attempt{DeliveryID: l.DeliveryID, AttemptNumber: 1, StartedAt: at.Add(-time.Millisecond),
			DurationMS: 1, StatusCode: &code, ResponseBody: body}}
	if !ok {
		o.Attempt.Error = &msg
	}
	return o
}

type deliveryRow struct {
	status        string
	attempts      int
	next, done    *int64
	code          *int64
	leaseOwner    *string
	successBody   *string // the success kept on the row
	attemptRows   int
	lastBody      string // of the last attempt row
	lastAttemptNo int
}

func readDelivery(t *testing.T, s *Store, id uuid.UUID) deliveryRow {
	t.Helper()
	var r deliveryRow
	err := s.reader.QueryRow(`SELECT status, attempt_count, next_attempt_at, completed_at, last_status_code, lease_owner,
			success_response, (SELECT count(*) FROM attempts WHERE delivery_id = d.id),
			coalesce((SELECT response_body FROM attempts WHERE delivery_id = d.id ORDER BY rowid DESC LIMIT 1), ''),
			coalesce((SELECT attempt_number FROM attempts WHERE delivery_id = d.id ORDER BY rowid DESC LIMIT 1), 0)
		FROM deliveries d WHERE id = ?`, blob(id)).
		Scan(&r.status, &r.attempts, &r.next, &r.done, &r.code, &r.leaseOwner, &r.successBody, &r.attemptRows, &r.lastBody, &r.lastAttemptNo)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func lastDelivered(t *testing.T, s *Store, webhook uuid.UUID) *int64 {
	t.Helper()
	var at *int64
	if err := s.reader.QueryRow(`SELECT last_delivered_at FROM webhooks WHERE id = ?`, blob(webhook)).Scan(&at); err != nil {
		t.Fatal(err)
	}
	return at
}

// TestRecordOutcomesBatch checks a batch of outcomes one by one: success,
// retry, final failure, a lost lease, and the webhook stamped with its
// latest success.
func TestRecordOutcomesBatch(t *testing.T) {
	s, ls := leasedBatch(t, 3)
	base := time.Now().Truncate(time.Millisecond)
	retryAt := base.Add(5 * time.Second)
	var first, second store.LeasedDelivery // two deliveries of one webhook
	for _, l := range ls[1:] {
		if l.WebhookID == ls[0].WebhookID {
			first, second = ls[0], l
			break
		}
	}
	var others []store.LeasedDelivery
	for _, l := range ls {
		if l.DeliveryID != first.DeliveryID && l.DeliveryID != second.DeliveryID {
			others = append(others, l)
		}
	}
	batch := []store.Outcome{
		outcomeOf(second, "a", 204, true, nil, base.Add(2*time.Second), `later <&> "quoted" é`),
		outcomeOf(first, "a", 200, true, nil, base.Add(time.Second), "earlier"),
		outcomeOf(others[0], "a", 500, false, &retryAt, base, "retry"),
		outcomeOf(others[1], "a", 410, false, nil, base, "gone"),
		outcomeOf(others[2], "b", 200, true, nil, base.Add(time.Hour), "not the owner"),
	}
	if err := s.RecordOutcomes(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	// A success that ends the delivery is kept on its row; every other
	// attempt gets an attempt row.
	check := func(name string, l store.LeasedDelivery, status string, code int64, next, done *time.Time, leased bool, body string) {
		t.Helper()
		r := readDelivery(t, s, l.DeliveryID)
		if r.status != status || r.code == nil && status != store.StatusPending || r.code != nil && *r.code != code ||
			(r.leaseOwner != nil) != leased {
			t.Errorf("%s: row = %+v", name, r)
		}
		if status == store.StatusSucceeded {
			if r.attemptRows != 0 || r.successBody == nil || *r.successBody != body {
				t.Errorf("%s: success not kept on the row alone: %+v", name, r)
			}
		} else if r.attemptRows != 1 || r.lastBody != body || r.lastAttemptNo != 1 || r.successBody != nil {
			t.Errorf("%s: attempt row = %+v", name, r)
		}
		if !sameMicros(r.next, next) || !sameMicros(r.done, done) {
			t.Errorf("%s: next/done = %v/%v, want %v/%v", name, r.next, r.done, next, done)
		}
	}
	t1, t2 := base.Add(time.Second), base.Add(2*time.Second)
	check("success", second, store.StatusSucceeded, 204, nil, &t2, false, `later <&> "quoted" é`)
	check("success", first, store.StatusSucceeded, 200, nil, &t1, false, "earlier")
	check("retry", others[0], store.StatusPending, 500, &retryAt, nil, false, "retry")
	check("final failure", others[1], store.StatusFailed, 410, nil, &base, false, "gone")
	// Another owner's outcome logs its attempt and changes nothing else.
	if r := readDelivery(t, s, others[2].DeliveryID); r.status != store.StatusPending || r.attempts != 0 ||
		r.leaseOwner == nil || *r.leaseOwner != "a" || r.attemptRows != 1 {
		t.Errorf("lost lease: row = %+v", r)
	}
	// The endpoint received every success, lease or not: each webhook is
	// stamped with its latest one.
	want := map[uuid.UUID]int64{first.WebhookID: ts(t2)}
	if w := others[2].WebhookID; want[w] < ts(base.Add(time.Hour)) {
		want[w] = ts(base.Add(time.Hour))
	}
	for w, at := range want {
		if got := lastDelivered(t, s, w); got == nil || *got != at {
			t.Errorf("webhook %s last_delivered_at = %v, want %d", w, got, at)
		}
	}
}

func sameMicros(got *int64, want *time.Time) bool {
	if got == nil || want == nil {
		return got == nil && want == nil
	}
	return *got == ts(*want)
}

// TestRecordOutcomesBatchFallsBackInOrder: a batch is written in order, so
// the second outcome of a delivery finds the lease gone, and response text
// is kept byte for byte.
func TestRecordOutcomesBatchFallsBackInOrder(t *testing.T) {
	s, ls := leasedBatch(t, 1)
	at := time.Now()
	twice := []store.Outcome{
		outcomeOf(ls[0], "a", 500, false, nil, at, "first"),
		outcomeOf(ls[0], "a", 200, true, nil, at.Add(time.Second), "second"),
	}
	if err := s.RecordOutcomes(context.Background(), twice); err != nil {
		t.Fatal(err)
	}
	if r := readDelivery(t, s, ls[0].DeliveryID); r.status != store.StatusFailed || r.attemptRows != 2 || r.lastBody != "second" {
		t.Errorf("repeated delivery: row = %+v, want failed by the first outcome with both attempts logged", r)
	}
	raw := "\xff\xfe not UTF-8"
	odd := []store.Outcome{
		outcomeOf(ls[1], "a", 200, true, nil, at, raw),
		outcomeOf(ls[0], "a", 200, true, nil, at, "late"),
	}
	if err := s.RecordOutcomes(context.Background(), odd); err != nil {
		t.Fatal(err)
	}
	var body []byte
	if err := s.reader.QueryRow(`SELECT CAST(success_response AS BLOB) FROM deliveries WHERE id = ?`, blob(ls[1].DeliveryID)).
		Scan(&body); err != nil || string(body) != raw {
		t.Errorf("response body = %q, %v; want the bytes as given", body, err)
	}
}
