package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hookd/hookd/internal/store"
)

func concurrencyCases() []testCase {
	return []testCase{
		{"ConcurrentIngestsAllLand", func(t *testing.T, s store.Store) {
			tm := mkTeam(t, s)
			a := mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
			b := mkWebhook(t, s, tm.ID, store.WebhookActive, completed, failed)
			const workers, each = 16, 25
			shared := mkEvent(t, tm.ID, "completed") // every worker also sends this one
			// Built up front: t.Fatal must not run on the workers' goroutines.
			batches := make([][][]store.NewEvent, workers)
			for w := range batches {
				for i := range each {
					evs := []store.NewEvent{mkEvent(t, tm.ID, []string{"completed", "failed"}[i%2])}
					if i == each/2 {
						again := shared
						again.ID = newID(t)
						evs = append(evs, again)
					}
					batches[w] = append(batches[w], evs)
				}
			}
			var wg sync.WaitGroup
			errs := make(chan error, workers*each*2)
			firsts := make(chan store.IngestResult, workers)
			for _, mine := range batches {
				wg.Go(func() {
					for _, evs := range mine {
						rs, err := s.IngestEvents(ctx(t), evs, store.IngestOptions{})
						if err != nil {
							errs <- err
							return
						}
						if rs[0].Err != nil || rs[0].Duplicate {
							errs <- fmt.Errorf("fresh event answered %+v", rs[0])
						}
						if len(rs) == 2 {
							firsts <- rs[1]
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			close(firsts)
			for err := range errs {
				t.Fatalf("concurrent ingest failed: %v", err)
			}
			// Exactly one of the shared copies was new; all report the same event.
			var created int
			var eventID uuid.UUID
			for r := range firsts {
				if r.Err != nil {
					t.Fatalf("shared event: %v", r.Err)
				}
				if !r.Duplicate {
					created++
				}
				if eventID != uuid.Nil && r.EventID != eventID {
					t.Fatalf("shared event ids differ: %v and %v", eventID, r.EventID)
				}
				eventID = r.EventID
			}
			if created != 1 {
				t.Fatalf("shared event created %d times, want 1", created)
			}
			completedCount := workers*(each-each/2) + 1 // even i are completed, plus the shared one
			if n := len(listAll(t, s, tm.ID, a.ID, store.DeliveryFilter{})); n != completedCount {
				t.Fatalf("webhook a has %d deliveries, want %d", n, completedCount)
			}
			if n := len(listAll(t, s, tm.ID, b.ID, store.DeliveryFilter{})); n != workers*each+1 {
				t.Fatalf("webhook b has %d deliveries, want %d", n, workers*each+1)
			}
		}},
		{"ConcurrentLeasesNeverShareARow", func(t *testing.T, s store.Store) {
			tm := mkTeam(t, s)
			for range 4 {
				mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
			}
			evs := make([]store.NewEvent, 60)
			for i := range evs {
				evs[i] = mkEvent(t, tm.ID, "completed")
			}
			ingest(t, s, evs...)
			const total = 240
			at := due()
			var mu sync.Mutex
			seen := map[uuid.UUID]string{}
			var dup error
			var wg sync.WaitGroup
			for w := range 6 {
				owner := []string{"p0", "p1", "p2", "p3", "p4", "p5"}[w]
				wg.Go(func() {
					// Bounded: a store that re-leases live rows must fail, not spin.
					for range total {
						res, err := s.Lease(ctx(t), store.LeaseRequest{Owner: owner, Now: at, Until: at.Add(time.Minute), Limit: 7})
						if err != nil {
							mu.Lock()
							dup = err
							mu.Unlock()
							return
						}
						if len(res.Deliveries) == 0 {
							return
						}
						mu.Lock()
						for _, l := range res.Deliveries {
							if prev, ok := seen[l.DeliveryID]; ok && dup == nil {
								dup = &doubleLease{id: l.DeliveryID, a: prev, b: owner}
							}
							seen[l.DeliveryID] = owner
						}
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			if dup != nil {
				t.Fatal(dup)
			}
			if len(seen) != total {
				t.Fatalf("leased %d distinct deliveries, want %d", len(seen), total)
			}
		}},
	}
}

type doubleLease struct {
	id   uuid.UUID
	a, b string
}

func (d *doubleLease) Error() string {
	return "delivery " + d.id.String() + " leased by both " + d.a + " and " + d.b
}
