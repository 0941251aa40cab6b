package storetest

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hookd/hookd/internal/store"
)

// failedAt makes one delivery of a new event to w that ends failed at at,
// and returns the delivery and its event.
func failedAt(t *testing.T, s store.Store, team uuid.UUID, w store.Webhook, at time.Time) (delivery, event uuid.UUID) {
	t.Helper()
	ev := mkEvent(t, team, "completed")
	ingestOne(t, s, ev)
	var mine store.LeasedDelivery
	for _, l := range leaseAll(t, s, "setup", due()) {
		if l.EventID == ev.ID && l.WebhookID == w.ID {
			mine = l
			continue
		}
		must(t, "ReleaseLeases", s.ReleaseLeases(ctx(t), "setup", []uuid.UUID{l.DeliveryID}))
	}
	if mine.DeliveryID == uuid.Nil {
		t.Fatalf("setup: the event's delivery was not leased")
	}
	must(t, "RecordOutcomes", s.RecordOutcomes(ctx(t), []store.Outcome{outcome(mine, "setup", 1, 500, false, nil, at)}))
	return mine.DeliveryID, ev.ID
}

func recovery(t *testing.T, team, webhook uuid.UUID, since, until time.Time) store.Recovery {
	return store.Recovery{ID: newID(t), TeamID: team, WebhookID: webhook, Since: since, Until: until, CreatedAt: now()}
}

// pendingEvents lists the events of the webhook's pending deliveries.
func pendingEvents(t *testing.T, s store.Store, team, webhook uuid.UUID) []uuid.UUID {
	t.Helper()
	var evs []uuid.UUID
	for _, d := range listAll(t, s, team, webhook, store.DeliveryFilter{Status: store.StatusPending}) {
		evs = append(evs, d.EventID)
	}
	return evs
}

func convertAll(t *testing.T, s store.Store, limit int) []int {
	t.Helper()
	var rounds []int
	for range 100 {
		n, err := s.ConvertRecoveries(ctx(t), now(), limit)
		must(t, "ConvertRecoveries", err)
		rounds = append(rounds, n)
		if n == 0 {
			return rounds
		}
	}
	t.Fatalf("ConvertRecoveries never ran out: %v", rounds)
	return nil
}

func recoveryCases() []testCase {
	return []testCase{
		{"RecoverClaimsEachFailedDeliveryOnce", func(t *testing.T, s store.Store) {
			tm := mkTeam(t, s)
			w := mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
			base := now().Add(-time.Hour)
			_, e1 := failedAt(t, s, tm.ID, w, base.Add(1*time.Minute))
			_, e2 := failedAt(t, s, tm.ID, w, base.Add(2*time.Minute))
			_, e3 := failedAt(t, s, tm.ID, w, base.Add(3*time.Minute))
			// A success and a pending delivery in the window are not recovered.
			ingestOne(t, s, mkEvent(t, tm.ID, "completed"))
			l := leaseAll(t, s, "a", due())[0]
			must(t, "RecordOutcomes", s.RecordOutcomes(ctx(t), []store.Outcome{outcome(l, "a", 1, 200, true, nil, base.Add(90*time.Second))}))
			ingestOne(t, s, mkEvent(t, tm.ID, "completed"))

			n, err := s.Recover(ctx(t), recovery(t, tm.ID, w.ID, base, base.Add(3*time.Minute)))
			must(t, "Recover", err)
			if n != 2 {
				t.Fatalf("first window claimed %d, want 2 (until is exclusive)", n)
			}
			n, err = s.Recover(ctx(t), recovery(t, tm.ID, w.ID, base.Add(-time.Hour), now()))
			must(t, "Recover overlapping", err)
			if n != 1 {
				t.Fatalf("overlapping window claimed %d, want only the one not claimed before", n)
			}
			n, err = s.Recover(ctx(t), recovery(t, tm.ID, w.ID, base.Add(-time.Hour), now()))
			must(t, "Recover again", err)
			if n != 0 {
				t.Fatalf("a third call claimed %d, want 0", n)
			}
			before := len(pendingEvents(t, s, tm.ID, w.ID))
			if got := convertAll(t, s, 500); got[0] != 3 {
				t.Fatalf("conversion created %v, want 3 at once", got)
			}
			pending := pendingEvents(t, s, tm.ID, w.ID)
			if len(pending)-before != 3 {
				t.Fatalf("%d new pending deliveries, want 3", len(pending)-before)
			}
			sameIDs(t, "recovered events", pending[:3], []uuid.UUID{e1, e2, e3})
			// The originals stay failed; the new ones carry the full schedule.
			if got := len(listAll(t, s, tm.ID, w.ID, store.DeliveryFilter{Status: store.StatusFailed})); got != 3 {
				t.Fatalf("%d failed deliveries, want the 3 originals", got)
			}
			for _, d := range listAll(t, s, tm.ID, w.ID, store.DeliveryFilter{Status: store.StatusPending})[:3] {
				if d.AttemptCount != 0 || d.NextAttemptAt == nil {
					t.Fatalf("redelivery = %+v, want a fresh pending delivery", d)
				}
			}
		}},
		{"ConversionGoesInChunks", func(t *testing.T, s store.Store) {
			tm := mkTeam(t, s)
			w := mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
			base := now().Add(-time.Hour)
			var events []uuid.UUID
			for i := range 7 {
				_, ev := failedAt(t, s, tm.ID, w, base.Add(time.Duration(i)*time.Second))
				events = append(events, ev)
			}
			n, err := s.Recover(ctx(t), recovery(t, tm.ID, w.ID, base, now()))
			must(t, "Recover", err)
			if n != 7 {
				t.Fatalf("claimed %d, want 7", n)
			}
			got := convertAll(t, s, 3)
			total := 0
			for _, n := range got {
				if n > 3 {
					t.Fatalf("a chunk created %d, limit 3: %v", n, got)
				}
				total += n
			}
			if total != 7 {
				t.Fatalf("chunks %v created %d, want 7", got, total)
			}
			sameIDs(t, "recovered events", pendingEvents(t, s, tm.ID, w.ID), events)
		}},
		{"RecoverRefusals", func(t *testing.T, s store.Store) {
			tm, other := mkTeam(t, s), mkTeam(t, s)
			w := mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
			window := func(team, hook uuid.UUID) store.Recovery {
				return recovery(t, team, hook, now().Add(-time.Hour), now())
			}
			_, err := s.Recover(ctx(t), window(other.ID, w.ID))
			wantErr(t, "Recover other team", err, store.ErrNotFound)
			_, err = s.Recover(ctx(t), window(tm.ID, newID(t)))
			wantErr(t, "Recover unknown webhook", err, store.ErrNotFound)
			must(t, "disable", s.UpdateWebhook(ctx(t), tm.ID, w.ID, store.WebhookPatch{Status: ptr(store.WebhookDisabled)}))
			_, err = s.Recover(ctx(t), window(tm.ID, w.ID))
			wantErr(t, "Recover disabled", err, store.ErrWebhookDisabled)
		}},
		{"DisablingEndsARecoveryInProgress", func(t *testing.T, s store.Store) {
			tm := mkTeam(t, s)
			w := mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
			failedAt(t, s, tm.ID, w, now().Add(-time.Minute))
			n, err := s.Recover(ctx(t), recovery(t, tm.ID, w.ID, now().Add(-time.Hour), now()))
			must(t, "Recover", err)
			if n != 1 {
				t.Fatalf("claimed %d, want 1", n)
			}
			must(t, "disable", s.UpdateWebhook(ctx(t), tm.ID, w.ID, store.WebhookPatch{Status: ptr(store.WebhookDisabled)}))
			if got := convertAll(t, s, 10); got[0] != 0 {
				t.Fatalf("conversion for a disabled webhook created %v", got)
			}
			if n := len(pendingEvents(t, s, tm.ID, w.ID)); n != 0 {
				t.Fatalf("%d pending deliveries on a disabled webhook", n)
			}
		}},
	}
}
