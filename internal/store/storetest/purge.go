package storetest

import (
	"testing"
	"time"

	"github.com/hookd/hookd/internal/store"
)

func purgeCases() []testCase {
	return []testCase{
		{"DeletesOldTerminalRowsAndOrphanEvents", func(t *testing.T, s store.Store) {
			tm := mkTeam(t, s)
			w := mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
			old := now().Add(-48 * time.Hour)
			cutoff := now().Add(-24 * time.Hour)

			oldEvent := func(team store.Team) store.NewEvent { return eventAt(t, team.ID, "completed", old) }
			// gone: old event whose only delivery finished long ago.
			gone := oldEvent(tm)
			ingestOne(t, s, gone)
			goneL := leaseAll(t, s, "a", due())[0]
			must(t, "RecordOutcomes", s.RecordOutcomes(ctx(t), []store.Outcome{outcome(goneL, "a", 1, 200, true, nil, old.Add(time.Minute))}))
			// recent: old event whose delivery finished recently: kept.
			recent := oldEvent(tm)
			ingestOne(t, s, recent)
			recentL := leaseAll(t, s, "a", due())[0]
			must(t, "RecordOutcomes", s.RecordOutcomes(ctx(t), []store.Outcome{outcome(recentL, "a", 1, 200, true, nil, now())}))
			// waiting: old event with a pending delivery: kept.
			waiting := oldEvent(tm)
			ingestOne(t, s, waiting)
			// orphan: old event of a team without webhooks: gone; fresh orphan stays.
			orphan := oldEvent(store.Team{ID: newID(t)})
			ingestOne(t, s, orphan)
			fresh := mkEvent(t, newID(t), "completed")
			ingestOne(t, s, fresh)

			n, err := s.Purge(ctx(t), cutoff)
			must(t, "Purge", err)
			// At least the delivery and the two events (a success keeps no
			// attempt row).
			if n < 3 {
				t.Fatalf("Purge deleted %d rows, want at least 3", n)
			}
			_, err = s.GetDelivery(ctx(t), tm.ID, w.ID, goneL.DeliveryID)
			wantErr(t, "GetDelivery purged", err, store.ErrNotFound)
			if d := getDelivery(t, s, tm.ID, w.ID, recentL.DeliveryID); len(d.Attempts) != 1 {
				t.Fatalf("recent delivery kept %d attempts, want 1", len(d.Attempts))
			}
			if n := len(listAll(t, s, tm.ID, w.ID, store.DeliveryFilter{})); n != 2 {
				t.Fatalf("%d deliveries left, want 2 (recent, waiting)", n)
			}
			// A purged event no longer deduplicates; kept ones still do.
			for _, tc := range []struct {
				name      string
				ev        store.NewEvent
				duplicate bool
			}{
				{"purged", gone, false},
				{"orphan purged", orphan, false},
				{"recent", recent, true},
				{"waiting", waiting, true},
				{"fresh orphan", fresh, true},
			} {
				again := tc.ev
				again.ID, again.CreatedAt = newID(t), now()
				r := ingest(t, s, again)[0]
				if r.Err != nil || r.Duplicate != tc.duplicate {
					t.Fatalf("re-ingest of %s event = %+v, want duplicate=%v", tc.name, r, tc.duplicate)
				}
			}
			// Nothing left to purge at the same cutoff (the re-ingested events are new).
			n, err = s.Purge(ctx(t), cutoff)
			must(t, "second Purge", err)
			if n != 0 {
				t.Fatalf("second Purge deleted %d rows, want 0", n)
			}
		}},
		{"LargePurgeCompletes", func(t *testing.T, s store.Store) {
			tm := mkTeam(t, s)
			w := mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
			old := now().Add(-48 * time.Hour)
			const total = 2500
			evs := make([]store.NewEvent, total)
			for i := range evs {
				evs[i] = eventAt(t, tm.ID, "completed", old)
			}
			for i := 0; i < total; i += 500 {
				ingest(t, s, evs[i:i+500]...)
			}
			for {
				ls := leaseAll(t, s, "a", due())
				if len(ls) == 0 {
					break
				}
				os := make([]store.Outcome, len(ls))
				for i, l := range ls {
					os[i] = outcome(l, "a", 1, 200, true, nil, old.Add(time.Minute))
				}
				must(t, "RecordOutcomes", s.RecordOutcomes(ctx(t), os))
			}
			n, err := s.Purge(ctx(t), now().Add(-time.Hour))
			must(t, "Purge", err)
			if n < 2*total {
				t.Fatalf("Purge deleted %d rows, want at least %d", n, 2*total)
			}
			if left := len(listAll(t, s, tm.ID, w.ID, store.DeliveryFilter{})); left != 0 {
				t.Fatalf("%d deliveries survived the purge", left)
			}
		}},
	}
}
