package delivery

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookd/hookd/internal/store"
)

// poisonStore refuses any RecordOutcomes call that contains one delivery
// and remembers the deliveries of the calls it accepted.
type poisonStore struct {
	store.Store // nil: only RecordOutcomes is called
	poison      uuid.UUID

	mu       sync.Mutex
	recorded []uuid.UUID
}

func (p *poisonStore) RecordOutcomes(_ context.Context, outcomes []store.Outcome) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, o := range outcomes {
		if o.DeliveryID == p.poison {
			return errors.New("constraint violated")
		}
	}
	for _, o := range outcomes {
		p.recorded = append(p.recorded, o.DeliveryID)
	}
	return nil
}

// One outcome the store keeps refusing does not hold back the others in its
// batch, and is given up once its lease is over.
func TestRecordIsolatesAnOutcomeTheStoreRefuses(t *testing.T) {
	poison, good := uuid.New(), uuid.New()
	st := &poisonStore{poison: poison}
	reg := prometheus.NewRegistry()
	eng, err := New(st, Config{Client: &http.Client{}, Box: newBox(t), Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	out := func(id uuid.UUID) store.Outcome {
		return store.Outcome{DeliveryID: id, Owner: "a", Succeeded: true, FinishedAt: now,
			Attempt: store.Attempt{DeliveryID: id, AttemptNumber: 1, StartedAt: now}}
	}
	over, live := out(poison), out(good)
	over.LeaseUntil, live.LeaseUntil = now.Add(-time.Second), now.Add(time.Minute) // the poisoned lease is already over
	eng.record([]finished{{outcome: over}, {outcome: live}})
	if !slices.Equal(st.recorded, []uuid.UUID{good}) {
		t.Fatalf("recorded %v, want only the good outcome", st.recorded)
	}
	if got := gathered(t, reg, "hookd_delivery_outcomes_dropped_total", ""); got != 1 {
		t.Fatalf("dropped outcomes metric = %v, want 1", got)
	}
}

// A failed attempt gets its retry time from the schedule, rounded up to the
// millisecond; the last one gets none.
func TestRecordSchedulesRetries(t *testing.T) {
	var got []store.Outcome
	spy := &spyStore{record: func(os []store.Outcome) { got = append(got, os...) }}
	eng, err := New(spy, Config{Client: &http.Client{}, Box: newBox(t), Schedule: []time.Duration{time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 2, 16, 9, 0, 0, 1, time.UTC)
	mk := func(n int) finished {
		return finished{outcome: store.Outcome{DeliveryID: uuid.New(), FinishedAt: at, LeaseUntil: at.Add(time.Hour),
			Attempt: store.Attempt{AttemptNumber: n}}}
	}
	eng.record([]finished{mk(1), mk(2)})
	if len(got) != 2 || got[0].NextAttemptAt == nil || !got[0].NextAttemptAt.Equal(at.Add(time.Second).Add(time.Millisecond-1)) || got[1].NextAttemptAt != nil {
		t.Fatalf("outcomes = %+v", got)
	}
}

// A receiver's Retry-After stretches the next wait up to the schedule's
// longest, never shortens it, and never adds an attempt.
func TestRecordHonoursRetryAfter(t *testing.T) {
	var got []store.Outcome
	spy := &spyStore{record: func(os []store.Outcome) { got = append(got, os...) }}
	eng, err := New(spy, Config{Client: &http.Client{}, Box: newBox(t)}) // 0s, 5s, 30s, 2m
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 2, 16, 9, 0, 0, 0, time.UTC)
	mk := func(n int, retryAfter time.Duration) finished {
		return finished{outcome: store.Outcome{DeliveryID: uuid.New(), FinishedAt: at, LeaseUntil: at.Add(time.Hour),
			Attempt: store.Attempt{AttemptNumber: n}}, retryAfter: retryAfter}
	}
	eng.record([]finished{mk(1, 3*time.Second), mk(1, time.Hour), mk(2, time.Second), mk(5, time.Second)})
	want := []*time.Time{ptrTime(at.Add(3 * time.Second)), ptrTime(at.Add(2 * time.Minute)), ptrTime(at.Add(5 * time.Second)), nil}
	for i, o := range got {
		if (o.NextAttemptAt == nil) != (want[i] == nil) || (want[i] != nil && !o.NextAttemptAt.Equal(*want[i])) {
			t.Errorf("outcome %d: next attempt %v, want %v", i, o.NextAttemptAt, want[i])
		}
	}
}

func ptrTime(t time.Time) *time.Time { return &t }

type spyStore struct {
	store.Store
	record func([]store.Outcome)
}

func (s *spyStore) RecordOutcomes(_ context.Context, os []store.Outcome) error {
	s.record(os)
	return nil
}
