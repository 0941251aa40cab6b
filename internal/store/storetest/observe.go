package storetest

import (
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/store"
)

// Recorder is a store.Observer that keeps what it is told.
type Recorder struct {
	mu      sync.Mutex
	rounds  []store.Round
	created map[string]int // "source event_type" → deliveries
}

func (r *Recorder) CommitRound(round store.Round) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rounds = append(r.rounds, round)
}

func (r *Recorder) DeliveriesCreated(source, eventType string, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.created == nil {
		r.created = map[string]int{}
	}
	r.created[source+" "+eventType] += n
}

// Rounds returns the rounds reported so far.
func (r *Recorder) Rounds() []store.Round {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]store.Round(nil), r.rounds...)
}

// Created returns the deliveries reported per "source event_type".
func (r *Recorder) Created() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.created)
}

// RunObserved runs the cases about what a store tells its Observer;
// newStore opens a fresh, empty, migrated store reporting to obs.
func RunObserved(t *testing.T, newStore func(t *testing.T, obs store.Observer) store.Store) {
	cases := []struct {
		name string
		run  func(t *testing.T, s store.Store, rec *Recorder)
	}{
		{"EveryCreatedDeliveryIsReportedOnceBySourceAndType", observedCreations},
		{"EveryCommitRoundIsReportedWithItsDurability", observedRounds},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := &Recorder{}
			tc.run(t, newStore(t, rec), rec)
		})
	}
}

func wantCreated(t *testing.T, rec *Recorder, want map[string]int) {
	t.Helper()
	if got := rec.Created(); !maps.Equal(got, want) {
		t.Fatalf("deliveries created reported %v, want %v", got, want)
	}
}

// observedCreations makes deliveries every way a store can (ingest fan-out,
// redeliver, test, recovery) and some ways it refuses (a repeated task, a
// disabled webhook): only committed deliveries are reported.
func observedCreations(t *testing.T, s store.Store, rec *Recorder) {
	tm := mkTeam(t, s)
	w := mkWebhook(t, s, tm.ID, store.WebhookActive, completed, failed)
	mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
	off := mkWebhook(t, s, tm.ID, store.WebhookActive, failed)
	must(t, "disable", s.UpdateWebhook(ctx(t), tm.ID, off.ID, store.WebhookPatch{Status: ptr(store.WebhookDisabled)}))

	done := mkEvent(t, tm.ID, "completed")
	ingest(t, s, done, mkEvent(t, tm.ID, "failed"))
	ingest(t, s, done) // a repeat creates nothing
	want := map[string]int{"ingest task.completed": 2, "ingest task.failed": 1}
	wantCreated(t, rec, want)

	test := mkEvent(t, tm.ID, "completed")
	test.EventType = "webhook.test"
	_, err := s.CreateTestDelivery(ctx(t), tm.ID, w.ID, test)
	must(t, "CreateTestDelivery", err)
	_, err = s.CreateTestDelivery(ctx(t), tm.ID, off.ID, mkEvent(t, tm.ID, "completed"))
	wantErr(t, "CreateTestDelivery to a disabled webhook", err, store.ErrWebhookDisabled)
	want["test webhook.test"] = 1
	wantCreated(t, rec, want)

	var first store.Delivery
	for _, d := range listAll(t, s, tm.ID, w.ID, store.DeliveryFilter{}) {
		if d.EventID == done.ID {
			first = d
		}
	}
	_, err = s.Redeliver(ctx(t), tm.ID, w.ID, first.ID, now())
	must(t, "Redeliver", err)
	want["redeliver task.completed"] = 1
	wantCreated(t, rec, want)

	// Fail every pending delivery of w, then recover them.
	base := now()
	var outcomes []store.Outcome
	failedOfW := 0
	for _, l := range leaseAll(t, s, "me", due()) {
		ok := l.WebhookID != w.ID
		if !ok {
			failedOfW++
		}
		outcomes = append(outcomes, outcome(l, "me", 1, 500, ok, nil, base))
	}
	must(t, "RecordOutcomes", s.RecordOutcomes(ctx(t), outcomes))
	n, err := s.Recover(ctx(t), recovery(t, tm.ID, w.ID, base.Add(-time.Minute), base.Add(time.Minute)))
	must(t, "Recover", err)
	if n != failedOfW || n != 4 {
		t.Fatalf("Recover claimed %d, want w's %d failed deliveries (4)", n, failedOfW)
	}
	wantCreated(t, rec, want) // claimed, not created yet
	convertAll(t, s, 100)
	want["recover task.completed"] = 2 // the event's delivery and its redelivery
	want["recover task.failed"] = 1
	want["recover webhook.test"] = 1
	wantCreated(t, rec, want)
}

// observedRounds: an ingest commits in a flushed round; a round of outcomes
// only does not wait for the flush.
func observedRounds(t *testing.T, s store.Store, rec *Recorder) {
	tm := mkTeam(t, s)
	mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
	before := len(rec.Rounds())
	ingestOne(t, s, mkEvent(t, tm.ID, "completed"))
	rounds := rec.Rounds()[before:]
	if len(rounds) == 0 {
		t.Fatal("no round reported for an ingest")
	}
	last := rounds[len(rounds)-1]
	if !last.Sync || last.Err != nil || last.Calls < 1 || last.Duration <= 0 {
		t.Fatalf("ingest round = %+v, want a flushed, committed round of at least one call that took time", last)
	}

	ls := leaseAll(t, s, "me", due())
	before = len(rec.Rounds())
	must(t, "RecordOutcomes", s.RecordOutcomes(ctx(t), []store.Outcome{outcome(ls[0], "me", 1, 200, true, nil, now())}))
	rounds = rec.Rounds()[before:]
	if len(rounds) != 1 {
		t.Fatalf("RecordOutcomes alone made %d rounds, want 1: %+v", len(rounds), rounds)
	}
	if r := rounds[0]; r.Sync || r.Err != nil || r.Calls != 1 {
		t.Fatalf("outcome round = %+v, want one committed call without the flush", r)
	}
}
