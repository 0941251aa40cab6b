package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd/internal/store"
)

// openIngest runs ingestTx for evs in a transaction left open, as a round
// of another process would be mid-commit.
func openIngest(t *testing.T, s *Store, evs ...store.NewEvent) (pgx.Tx, []store.IngestResult) {
	t.Helper()
	tx, err := s.pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	items := make([]*ingestItem, len(evs))
	for i, ev := range evs {
		items[i] = &ingestItem{ev: ev}
	}
	rs, err := ingestTx(t.Context(), tx, s.channel, items)
	if err != nil {
		t.Fatal(err)
	}
	return tx, rs
}

// TestDisableWaitsForIngestInFlight: a disable that races an uncommitted
// ingest must still cancel the delivery that ingest creates.
func TestDisableWaitsForIngestInFlight(t *testing.T) {
	s := TestStore(t)
	team, webhook := fixture(t, s)
	tx, rs := openIngest(t, s, newEvent(team))
	if rs[0].DeliveryCount != 1 {
		t.Fatalf("ingest = %+v", rs[0])
	}

	disabled := make(chan error, 1)
	go func() {
		off := store.WebhookDisabled
		disabled <- s.UpdateWebhook(context.Background(), team, webhook, store.WebhookPatch{Status: &off})
	}()
	select {
	case err := <-disabled:
		t.Fatalf("disable did not wait for the ingest in flight (err %v)", err)
	case <-time.After(200 * time.Millisecond):
	}
	if err := tx.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := <-disabled; err != nil {
		t.Fatal(err)
	}
	ds, _, err := s.ListDeliveries(t.Context(), team, webhook, store.DeliveryFilter{}, store.Page{Number: 1, Size: 10})
	if err != nil || len(ds) != 1 || ds[0].Status != store.StatusCanceled {
		t.Fatalf("deliveries after disable = %+v, %v; want one canceled", ds, err)
	}
}

// TestTaskRacingAnotherTransaction: an ingest whose task is being inserted
// by another uncommitted transaction waits for it and then answers with the
// stored event, for every copy of the task in its batch.
func TestTaskRacingAnotherTransaction(t *testing.T) {
	s := TestStore(t)
	team, webhook := fixture(t, s)
	original := newEvent(team)
	tx, _ := openIngest(t, s, original)

	copy1, copy2, clash, other := original, original, original, newEvent(team)
	copy1.ID, copy2.ID = uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	clash.ID, clash.TaskStatus, clash.EventType = uuid.Must(uuid.NewV7()), "failed", "task.failed"
	type answer struct {
		rs  []store.IngestResult
		err error
	}
	done := make(chan answer, 1)
	go func() {
		rs, err := s.IngestEvents(context.Background(), []store.NewEvent{copy1, other, copy2, clash}, store.IngestOptions{})
		done <- answer{rs, err}
	}()
	time.Sleep(200 * time.Millisecond) // the ingest now waits on the unique index
	if err := tx.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	a := <-done
	if a.err != nil {
		t.Fatal(a.err)
	}
	for i, r := range []store.IngestResult{a.rs[0], a.rs[2]} {
		if !r.Duplicate || r.EventID != original.ID || r.DeliveryCount != 1 || r.Err != nil {
			t.Fatalf("copy %d = %+v, want duplicate of %v", i+1, r, original.ID)
		}
	}
	if r := a.rs[1]; r.Duplicate || r.EventID != other.ID || r.DeliveryCount != 1 {
		t.Fatalf("unrelated event = %+v", r)
	}
	if a.rs[3].Err == nil {
		t.Fatalf("clashing status = %+v, want a conflict", a.rs[3])
	}
	_, total, err := s.ListDeliveries(t.Context(), team, webhook, store.DeliveryFilter{}, store.Page{Number: 1, Size: 10})
	if err != nil || total != 2 {
		t.Fatalf("deliveries = %d, %v; want 2 (original, other)", total, err)
	}
}

// TestUnstorableTextIsCleaned: a receiver's error text and body may hold
// NUL and invalid UTF-8; the outcome must still be recorded.
func TestUnstorableTextIsCleaned(t *testing.T) {
	s := TestStore(t)
	l := leaseOne(t, s, "me")
	o := success(l, "me")
	o.Succeeded = false
	bad := "broken \x00 \xff text"
	o.Attempt.Error = &bad
	o.Attempt.ResponseBody = "body \x00 \xfe"
	if err := s.RecordOutcomes(t.Context(), []store.Outcome{o}); err != nil {
		t.Fatal(err)
	}
	d, err := s.GetDelivery(t.Context(), l.TeamID, l.WebhookID, l.DeliveryID)
	if err != nil {
		t.Fatal(err)
	}
	a := d.Attempts[0]
	if a.Error == nil || *a.Error != "broken \uFFFD \uFFFD text" || a.ResponseBody != o.Attempt.ResponseBody {
		t.Fatalf("attempt = %q / %q", *a.Error, a.ResponseBody)
	}
	if d.Status != store.StatusFailed || d.LastError == nil || *d.LastError != *a.Error {
		t.Fatalf("delivery = %+v", d.Delivery)
	}
}

func TestEventWithoutIDIsRefused(t *testing.T) {
	s := TestStore(t)
	ev := newEvent(uuid.New())
	ev.ID = uuid.Nil
	if _, err := s.IngestEvents(t.Context(), []store.NewEvent{ev}, store.IngestOptions{}); err == nil {
		t.Fatal("an event without id was accepted")
	}
}
