package postgres

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hookd/hookd/internal/store"
)

// TestConcurrentIngestsShareARound holds the first round on a row lock
// while more callers arrive: they must all commit in the one next round.
func TestConcurrentIngestsShareARound(t *testing.T) {
	s := TestStore(t)
	team, webhook := fixture(t, s)

	blocker, err := s.pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer blocker.Rollback(context.Background())
	// Ingest reads the webhook FOR KEY SHARE, which waits for FOR UPDATE.
	if _, err := blocker.Exec(t.Context(), `SELECT 1 FROM webhooks WHERE id = $1 FOR UPDATE`, webhook); err != nil {
		t.Fatal(err)
	}

	const callers = 40
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	ingestAsync := func() {
		wg.Go(func() {
			rs, err := s.IngestEvents(context.Background(), []store.NewEvent{newEvent(team)}, store.IngestOptions{})
			if err == nil && (rs[0].Err != nil || rs[0].DeliveryCount != 1) {
				err = errors.New("unexpected result")
			}
			errs <- err
		})
	}
	ingestAsync()
	time.Sleep(100 * time.Millisecond) // the first round is now waiting on the lock
	for range callers - 1 {
		ingestAsync()
	}
	time.Sleep(200 * time.Millisecond) // the others queue behind it
	if err := blocker.Rollback(t.Context()); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := s.writer.rounds.Load(); got != 2 {
		t.Fatalf("%d callers committed in %d rounds, want 2", callers, got)
	}
}

// TestFailingCallFailsAlone runs one round with a good ingest, a bad ingest
// (an event id already stored) and outcomes: only the bad call fails.
func TestFailingCallFailsAlone(t *testing.T) {
	s := TestStore(t)
	team, _ := fixture(t, s)
	first := newEvent(team)
	if _, err := s.IngestEvents(t.Context(), []store.NewEvent{first}, store.IngestOptions{}); err != nil {
		t.Fatal(err)
	}

	reused := newEvent(team)
	reused.ID = first.ID // primary key violation: this call must fail
	good := newEvent(team)
	lease := leaseOne(t, s, "me")
	calls := []*writeCall{
		{ctx: t.Context(), ingest: []*ingestItem{{ev: good}}},
		{ctx: t.Context(), ingest: []*ingestItem{{ev: reused}}},
		{ctx: t.Context(), outcomes: []store.Outcome{success(lease, "me")}},
	}
	s.writer.run(calls)

	if calls[0].err != nil || len(calls[0].results) != 1 || calls[0].results[0].EventID != good.ID {
		t.Fatalf("good call: %+v, %v", calls[0].results, calls[0].err)
	}
	if calls[1].err == nil {
		t.Fatal("call reusing an event id succeeded")
	}
	if calls[2].err != nil {
		t.Fatalf("outcome call: %v", calls[2].err)
	}
	rs, err := s.IngestEvents(t.Context(), []store.NewEvent{good}, store.IngestOptions{})
	if err != nil || !rs[0].Duplicate {
		t.Fatalf("good event not committed: %+v, %v", rs, err)
	}
	var status string
	if err := s.pool.QueryRow(t.Context(), `SELECT status FROM deliveries WHERE id = $1`, lease.DeliveryID).Scan(&status); err != nil || status != store.StatusSucceeded {
		t.Fatalf("outcome not committed: %q, %v", status, err)
	}
}

func TestCanceledCallerIsNotWritten(t *testing.T) {
	s := TestStore(t)
	team, _ := fixture(t, s)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	ev := newEvent(team)
	calls := []*writeCall{{ctx: ctx, ingest: []*ingestItem{{ev: ev}}}}
	s.writer.run(calls)
	if !errors.Is(calls[0].err, context.Canceled) {
		t.Fatalf("canceled call error = %v", calls[0].err)
	}
	rs, err := s.IngestEvents(t.Context(), []store.NewEvent{ev}, store.IngestOptions{})
	if err != nil || rs[0].Duplicate {
		t.Fatalf("a canceled call was written: %+v, %v", rs, err)
	}
}

// TestAdmitIsAskedOncePerWebhook: a round may run again (deadlock victim);
// Admit reserves a lane slot, so its answer is remembered.
func TestAdmitIsAskedOncePerWebhook(t *testing.T) {
	asked := 0
	it := &ingestItem{lease: &store.LeaseRequest{Admit: func(uuid.UUID) bool { asked++; return asked == 1 }}}
	id := uuid.New()
	if !it.admit(id) || !it.admit(id) || asked != 1 {
		t.Fatalf("admit answers changed or Admit asked %d times", asked)
	}
	if it.admit(uuid.New()) || asked != 2 {
		t.Fatalf("another webhook: Admit asked %d times", asked)
	}
}

func TestRetryableErrors(t *testing.T) {
	for code, want := range map[string]bool{
		codeDeadlockDetected: true, codeSerializationFailure: true, codeUniqueViolation: false, "": false,
	} {
		var err error = &pgconn.PgError{Code: code}
		if code == "" {
			err = errors.New("plain")
		}
		if got := retryable(err); got != want {
			t.Errorf("retryable(%q) = %v, want %v", code, got, want)
		}
	}
	if retryable(pgx.ErrNoRows) {
		t.Error("ErrNoRows is retryable")
	}
}

// leaseOne ingests an event for a new team and leases its delivery to owner.
func leaseOne(t *testing.T, s *Store, owner string) store.LeasedDelivery {
	t.Helper()
	team, _ := fixture(t, s)
	lease := &store.LeaseRequest{Owner: owner, Now: time.Now(), Until: time.Now().Add(time.Minute)}
	rs, err := s.IngestEvents(t.Context(), []store.NewEvent{newEvent(team)}, store.IngestOptions{Lease: lease})
	if err != nil || len(rs[0].Leased) != 1 {
		t.Fatalf("ingest with lease = %+v, %v", rs, err)
	}
	return rs[0].Leased[0]
}

func success(l store.LeasedDelivery, owner string) store.Outcome {
	now := time.Now()
	return store.Outcome{DeliveryID: l.DeliveryID, WebhookID: l.WebhookID, Owner: owner, LeaseUntil: l.LeaseUntil,
		Succeeded: true, FinishedAt: now,
		Attempt: store.Attempt{DeliveryID: l.DeliveryID, AttemptNumber: 1, StartedAt: now, StatusCode: new(int)}}
}
