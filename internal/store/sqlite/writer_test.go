package sqlite

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookd/hookd/internal/store"
)

// hold occupies the writer until release is closed, so the jobs submitted
// meanwhile all queue up for the next round.
func hold(t *testing.T, s *Store) (release func(), finished <-chan error) {
	t.Helper()
	gate := make(chan struct{})
	started := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- s.write(context.Background(), func(*wtx) error {
			close(started)
			<-gate
			return nil
		})
	}()
	<-started
	return func() { close(gate) }, errc
}

func metaValue(t *testing.T, s *Store, key string) (string, bool) {
	t.Helper()
	var v string
	err := s.reader.QueryRow(`SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	return v, err == nil
}

func putMeta(key string) func(*wtx) error {
	return func(w *wtx) error {
		_, err := w.exec(`INSERT INTO meta (key, value) VALUES (?, 'v')`, key)
		return err
	}
}

// TestRoundSharesOneCommitAndIsolatesFailures submits a good job, a job that
// fails after writing, and a job that panics while the writer is busy; they
// run in one round (one commit), and only the good job's write survives.
func TestRoundSharesOneCommitAndIsolatesFailures(t *testing.T) {
	s, _ := openTemp(t)
	release, held := hold(t, s)
	roundsBefore := s.stats.rounds.Load()

	boom := errors.New("boom")
	jobs := map[string]func(*wtx) error{
		"good": putMeta("good"),
		"fails": func(w *wtx) error {
			if err := putMeta("fails")(w); err != nil {
				return err
			}
			return boom
		},
		"panics": func(w *wtx) error {
			if err := putMeta("panics")(w); err != nil {
				return err
			}
			var m map[string]int
			m["x"] = 1 // nil map write
			return nil
		},
	}
	var wg sync.WaitGroup
	results := make(map[string]error)
	var mu sync.Mutex
	for name, fn := range jobs {
		wg.Go(func() {
			err := s.write(context.Background(), fn)
			mu.Lock()
			results[name] = err
			mu.Unlock()
		})
	}
	time.Sleep(100 * time.Millisecond) // let all three block in send
	release()
	wg.Wait()
	if err := <-held; err != nil {
		t.Fatalf("holding job: %v", err)
	}
	if results["good"] != nil || !errors.Is(results["fails"], boom) || results["panics"] == nil {
		t.Fatalf("results = %v", results)
	}
	if got := s.stats.rounds.Load() - roundsBefore; got != 2 {
		t.Fatalf("%d commits for the holding round plus three queued jobs, want 2", got)
	}
	if _, ok := metaValue(t, s, "good"); !ok {
		t.Fatal("the good job's write was lost")
	}
	for _, key := range []string{"fails", "panics"} {
		if _, ok := metaValue(t, s, key); ok {
			t.Fatalf("the %s job's write was committed", key)
		}
	}
	// The writer survived the panic.
	if err := s.write(context.Background(), putMeta("after")); err != nil {
		t.Fatalf("write after a panic: %v", err)
	}
}

func TestCanceledCallerDoesNotRun(t *testing.T) {
	s, _ := openTemp(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.write(ctx, putMeta("canceled")); !errors.Is(err, context.Canceled) {
		t.Fatalf("write with canceled ctx = %v", err)
	}
	// Canceled while queued behind a busy writer: skipped, not committed.
	release, _ := hold(t, s)
	ctx, cancel = context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.write(ctx, putMeta("queued")) }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	release()
	err := <-errc
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("queued write canceled = %v", err)
	}
	if _, ok := metaValue(t, s, "queued"); ok {
		t.Fatal("a canceled job was committed")
	}
}

// TestQueueRoundsSkipOnlyTheirOwnFlush: a round of leases or outcomes alone
// commits with synchronous=NORMAL; any round with another write (an ingest)
// is flushed (FULL), and so is every round after it until the mode changes.
func TestQueueRoundsSkipOnlyTheirOwnFlush(t *testing.T) {
	s, team := benchStore(t)
	ctx := context.Background()
	mode := func() int {
		t.Helper()
		var m int
		if err := s.writer.QueryRow(`PRAGMA synchronous`).Scan(&m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	if _, err := s.IngestEvents(ctx, []store.NewEvent{benchEvent(team)}, store.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	if m := mode(); m != 2 {
		t.Fatalf("after an ingest round synchronous = %d, want 2 (FULL)", m)
	}
	now := time.Now()
	if _, err := s.Lease(ctx, store.LeaseRequest{Owner: "a", Now: now, Until: now.Add(time.Minute), Limit: 10}); err != nil {
		t.Fatal(err)
	}
	if m := mode(); m != 1 {
		t.Fatalf("after a lease round synchronous = %d, want 1 (NORMAL)", m)
	}
	if err := s.CreateTeam(ctx, store.Team{ID: uuid.New(), DisplayName: "x"}); err != nil {
		t.Fatal(err)
	}
	if m := mode(); m != 2 {
		t.Fatalf("after an admin write synchronous = %d, want 2 (FULL)", m)
	}
	// A round that mixes both is flushed.
	done := make(chan error, 2)
	go func() { done <- s.write(ctx, func(w *wtx) error { time.Sleep(20 * time.Millisecond); return nil }) }()
	time.Sleep(5 * time.Millisecond)
	go func() { done <- s.writeRelaxed(ctx, func(*wtx) error { return nil }) }()
	go func() {
		_, err := s.IngestEvents(ctx, []store.NewEvent{benchEvent(team)}, store.IngestOptions{})
		done <- err
	}()
	for range 3 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if m := mode(); m != 2 {
		t.Fatalf("after a mixed round synchronous = %d, want 2 (FULL)", m)
	}
}
