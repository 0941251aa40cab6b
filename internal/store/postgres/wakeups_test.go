package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookd/hookd/internal/store"
)

// connected waits until s's listener is listening and swallows the signal
// it sends on (re)connection, so the next signal is a notification.
func connected(t *testing.T, s *Store) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.wake.pid.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("listener did not connect")
		}
		time.Sleep(10 * time.Millisecond)
	}
	drain(s)
}

func drain(s *Store) {
	select {
	case <-s.Wakeups():
	default:
	}
}

func expectWakeup(t *testing.T, s *Store, what string) {
	t.Helper()
	select {
	case <-s.Wakeups():
	case <-time.After(5 * time.Second):
		t.Fatalf("no wakeup after %s", what)
	}
}

func expectQuiet(t *testing.T, s *Store, what string) {
	t.Helper()
	select {
	case <-s.Wakeups():
		t.Fatalf("unexpected wakeup after %s", what)
	case <-time.After(200 * time.Millisecond):
	}
}

// fixture creates a team with one active webhook subscribed to task.completed.
func fixture(t testing.TB, s *Store) (team, webhook uuid.UUID) {
	t.Helper()
	team, webhook = uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	now := time.Now().UTC()
	if err := s.CreateTeam(t.Context(), store.Team{ID: team, DisplayName: "t", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	err := s.CreateWebhook(t.Context(), store.Webhook{ID: webhook, TeamID: team, DisplayName: "h",
		URL: "https://example.com/h", SecretEnc: []byte("s"), Events: []string{"task.completed"},
		Status: store.WebhookActive, CreatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	return team, webhook
}

func newEvent(team uuid.UUID) store.NewEvent {
	return store.NewEvent{ID: uuid.Must(uuid.NewV7()), TeamID: team, TaskID: uuid.Must(uuid.NewV7()),
		EventType: "task.completed", TaskStatus: "completed", Body: []byte(`{}`), CreatedAt: time.Now().UTC()}
}

func TestWakeupReachesAnotherProcess(t *testing.T) {
	opt := TestSchema(t)
	a, b := OpenTest(t, opt), OpenTest(t, opt)
	team, _ := fixture(t, a)
	connected(t, b)

	if _, err := a.IngestEvents(t.Context(), []store.NewEvent{newEvent(team)}, store.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	expectWakeup(t, b, "an ingest in another process")
}

func TestWakeupOnlyWhenWorkBecomesDue(t *testing.T) {
	s := TestStore(t)
	team, webhook := fixture(t, s)
	connected(t, s)

	// Deliveries leased at ingest are this process's already: nobody to wake.
	lease := &store.LeaseRequest{Owner: "me", Now: time.Now(), Until: time.Now().Add(time.Minute)}
	rs, err := s.IngestEvents(t.Context(), []store.NewEvent{newEvent(team)}, store.IngestOptions{Lease: lease})
	if err != nil || len(rs[0].Leased) != 1 {
		t.Fatalf("ingest with lease = %+v, %v", rs, err)
	}
	expectQuiet(t, s, "an ingest whose deliveries were all leased")

	// An event without subscribers makes nothing due.
	if _, err := s.IngestEvents(t.Context(), []store.NewEvent{newEvent(uuid.New())}, store.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	expectQuiet(t, s, "an ingest without deliveries")

	// A scheduled retry, a release, a redelivery and a test delivery do.
	l := rs[0].Leased[0]
	next := time.Now().Add(time.Minute)
	err = s.RecordOutcomes(t.Context(), []store.Outcome{{DeliveryID: l.DeliveryID, WebhookID: webhook, Owner: "me",
		Attempt: store.Attempt{DeliveryID: l.DeliveryID, AttemptNumber: 1, StartedAt: time.Now()}, NextAttemptAt: &next, FinishedAt: time.Now()}})
	if err != nil {
		t.Fatal(err)
	}
	expectWakeup(t, s, "a scheduled retry")

	held, err := s.Lease(t.Context(), store.LeaseRequest{Owner: "me", Now: next, Until: next.Add(time.Minute), Limit: 1})
	if err != nil || len(held.Deliveries) != 1 {
		t.Fatalf("lease = %+v, %v", held, err)
	}
	if err := s.ReleaseLeases(t.Context(), "me", []uuid.UUID{l.DeliveryID}); err != nil {
		t.Fatal(err)
	}
	expectWakeup(t, s, "a release")

	if _, err := s.Redeliver(t.Context(), team, webhook, l.DeliveryID, time.Now()); err != nil {
		t.Fatal(err)
	}
	expectWakeup(t, s, "a redelivery")

	ev := newEvent(team)
	ev.EventType = "webhook.test"
	if _, err := s.CreateTestDelivery(t.Context(), team, webhook, ev); err != nil {
		t.Fatal(err)
	}
	expectWakeup(t, s, "a test delivery")
}

func TestWakeupsSurviveALostConnection(t *testing.T) {
	opt := TestSchema(t)
	a, b := OpenTest(t, opt), OpenTest(t, opt)
	team, _ := fixture(t, a)
	connected(t, b)

	old := b.wake.pid.Load()
	var ok bool
	if err := a.pool.QueryRow(t.Context(), `SELECT pg_terminate_backend($1)`, old).Scan(&ok); err != nil || !ok {
		t.Fatalf("terminate listener backend: %v, %v", ok, err)
	}
	// The reconnection itself signals: notifications may have been missed.
	expectWakeup(t, b, "reconnecting")
	deadline := time.Now().Add(10 * time.Second)
	for pid := b.wake.pid.Load(); pid == 0 || pid == old; pid = b.wake.pid.Load() {
		if time.Now().After(deadline) {
			t.Fatal("listener did not reconnect")
		}
		time.Sleep(10 * time.Millisecond)
	}
	drain(b)

	if _, err := a.IngestEvents(t.Context(), []store.NewEvent{newEvent(team)}, store.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	expectWakeup(t, b, "an ingest after reconnection")
}

func TestSchemasDoNotWakeEachOther(t *testing.T) {
	a, b := TestStore(t), TestStore(t)
	team, _ := fixture(t, a)
	connected(t, b)
	if _, err := a.IngestEvents(t.Context(), []store.NewEvent{newEvent(team)}, store.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	expectQuiet(t, b, "an ingest in another schema")
}

func TestCloseStopsTheListener(t *testing.T) {
	opt := TestSchema(t)
	s, err := Open(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	connected(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s.wake.pid.Load() != 0 {
		t.Fatal("listener connection still open after Close")
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	_, err = s.IngestEvents(t.Context(), []store.NewEvent{newEvent(uuid.New())}, store.IngestOptions{})
	if err == nil {
		t.Fatal("ingest after Close succeeded")
	}
}
