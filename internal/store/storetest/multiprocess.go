package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hookd/hookd/internal/store"
)

// RunMultiProcess runs the cases that need several processes sharing one
// database (SPEC §7: several `hookd serve` share a PostgreSQL database).
// newPair returns two stores opened separately on one fresh, empty, migrated
// database, as two processes would (t.Cleanup closes them).
func RunMultiProcess(t *testing.T, newPair func(t *testing.T) (a, b store.Store)) {
	cases := []struct {
		name string
		run  func(t *testing.T, a, b store.Store)
	}{
		{"LeasesNeverShareARowAcrossProcesses", leasesAcrossProcesses},
		{"SameTaskFromTwoProcessesIsCreatedOnce", sameTaskFromTwoProcesses},
		{"OutcomeOfOneProcessIsSeenByTheOther", outcomeAcrossProcesses},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, b := newPair(t)
			tc.run(t, a, b)
		})
	}
}

// leasesAcrossProcesses has three leasers in each process drain one backlog:
// every delivery is leased exactly once.
func leasesAcrossProcesses(t *testing.T, a, b store.Store) {
	tm := mkTeam(t, a)
	for range 4 {
		mkWebhook(t, a, tm.ID, store.WebhookActive, completed)
	}
	evs := make([]store.NewEvent, 75)
	for i := range evs {
		evs[i] = mkEvent(t, tm.ID, "completed")
	}
	ingest(t, a, evs...)
	const total = 300
	at := due()

	var mu sync.Mutex
	owners := map[uuid.UUID]string{}
	var failure error
	var wg sync.WaitGroup
	for i, s := range []store.Store{a, b, a, b, a, b} {
		owner := fmt.Sprintf("process-%d", i)
		wg.Go(func() {
			for range total { // bounded: re-leasing live rows must fail, not spin
				res, err := s.Lease(ctx(t), store.LeaseRequest{Owner: owner, Now: at, Until: at.Add(time.Minute), Limit: 7})
				mu.Lock()
				if err != nil && failure == nil {
					failure = fmt.Errorf("%s: Lease: %w", owner, err)
				}
				for _, l := range res.Deliveries {
					if prev, ok := owners[l.DeliveryID]; ok && failure == nil {
						failure = &doubleLease{id: l.DeliveryID, a: prev, b: owner}
					}
					owners[l.DeliveryID] = owner
				}
				mu.Unlock()
				if err != nil || len(res.Deliveries) == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	if failure != nil {
		t.Fatal(failure)
	}
	if len(owners) != total {
		t.Fatalf("leased %d distinct deliveries, want %d", len(owners), total)
	}
	perStore := map[string]int{}
	for _, o := range owners {
		perStore[o]++
	}
	if len(perStore) < 2 {
		t.Logf("only %v leased: the processes did not overlap this run", perStore)
	}
}

// sameTaskFromTwoProcesses sends every task through both processes at
// once: each task gets one event and one delivery, and both answers name it.
func sameTaskFromTwoProcesses(t *testing.T, a, b store.Store) {
	tm := mkTeam(t, a)
	w := mkWebhook(t, a, tm.ID, store.WebhookActive, completed)
	const tasks = 40
	evs := make([]store.NewEvent, tasks)
	copies := make([]store.NewEvent, tasks)
	for i := range evs {
		evs[i] = mkEvent(t, tm.ID, "completed")
		copies[i] = evs[i]
		copies[i].ID = newID(t)
	}
	answers := make([][]store.IngestResult, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, s := range []store.Store{a, b} {
		mine := [][]store.NewEvent{evs, copies}[i]
		wg.Go(func() {
			for _, ev := range mine {
				rs, err := s.IngestEvents(ctx(t), []store.NewEvent{ev}, store.IngestOptions{})
				if err != nil {
					errs[i] = err
					return
				}
				answers[i] = append(answers[i], rs[0])
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		must(t, "IngestEvents", err)
	}
	for i := range tasks {
		x, y := answers[0][i], answers[1][i]
		if x.Err != nil || y.Err != nil {
			t.Fatalf("task %d: errors %v, %v", i, x.Err, y.Err)
		}
		if x.Duplicate == y.Duplicate {
			t.Fatalf("task %d: duplicate flags %v and %v, want exactly one original", i, x.Duplicate, y.Duplicate)
		}
		if x.EventID != y.EventID || x.DeliveryCount != 1 || y.DeliveryCount != 1 {
			t.Fatalf("task %d: answers %+v and %+v disagree", i, x, y)
		}
	}
	if n := len(listAll(t, b, tm.ID, w.ID, store.DeliveryFilter{})); n != tasks {
		t.Fatalf("%d deliveries, want %d (one per task)", n, tasks)
	}
}

// outcomeAcrossProcesses: a delivery ingested and leased in one process and
// finished there is final for the other process too.
func outcomeAcrossProcesses(t *testing.T, a, b store.Store) {
	tm := mkTeam(t, a)
	w := mkWebhook(t, a, tm.ID, store.WebhookActive, completed)
	ingestOne(t, a, mkEvent(t, tm.ID, "completed"))
	ls := leaseAll(t, a, "a", due())
	if len(ls) != 1 {
		t.Fatalf("leased %d, want 1", len(ls))
	}
	if got := leaseAll(t, b, "b", due()); len(got) != 0 {
		t.Fatalf("the other process leased a live lease")
	}
	fin := now()
	must(t, "RecordOutcomes", a.RecordOutcomes(ctx(t), []store.Outcome{outcome(ls[0], "a", 1, 200, true, nil, fin)}))
	if got := leaseAll(t, b, "b", now().Add(time.Hour)); len(got) != 0 {
		t.Fatalf("the other process leased a succeeded delivery")
	}
	hook, err := b.GetWebhook(ctx(t), tm.ID, w.ID)
	must(t, "GetWebhook", err)
	sameTime(t, "LastDeliveredAt", hook.LastDeliveredAt, fin)
}
