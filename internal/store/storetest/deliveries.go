package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hookd/hookd/internal/store"
)

func deliveryLogCases() []testCase {
	return []testCase{
		{"ListNewestFirstWithFiltersAndPages", func(t *testing.T, s store.Store) {
			tm := mkTeam(t, s)
			w := mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
			var evs []store.NewEvent
			for range 4 {
				ev := mkEvent(t, tm.ID, "completed")
				ingestOne(t, s, ev)
				evs = append(evs, ev)
				time.Sleep(2 * time.Millisecond) // distinct creation times at millisecond precision
			}
			all := listAll(t, s, tm.ID, w.ID, store.DeliveryFilter{})
			if len(all) != 4 {
				t.Fatalf("listed %d, want 4", len(all))
			}
			for i, d := range all {
				if d.TaskID != evs[3-i].TaskID {
					t.Fatalf("position %d has task %v, want %v (newest first)", i, d.TaskID, evs[3-i].TaskID)
				}
			}
			page, total, err := s.ListDeliveries(ctx(t), tm.ID, w.ID, store.DeliveryFilter{}, store.Page{Number: 2, Size: 3})
			must(t, "ListDeliveries page 2", err)
			if total != 4 || len(page) != 1 || page[0].ID != all[3].ID {
				t.Fatalf("page 2 = %d rows (total %d), want the oldest", len(page), total)
			}
			// Succeed the oldest one; filter by status and by task.
			var oldest store.LeasedDelivery
			for _, l := range leaseAll(t, s, "a", due()) {
				if l.DeliveryID == all[3].ID {
					oldest = l
				}
			}
			must(t, "RecordOutcomes", s.RecordOutcomes(ctx(t), []store.Outcome{outcome(oldest, "a", 1, 200, true, nil, now())}))
			ok, total, err := s.ListDeliveries(ctx(t), tm.ID, w.ID, store.DeliveryFilter{Status: store.StatusSucceeded}, store.Page{Number: 1, Size: 10})
			must(t, "ListDeliveries succeeded", err)
			if total != 1 || len(ok) != 1 || ok[0].ID != all[3].ID {
				t.Fatalf("succeeded filter = %d rows (total %d)", len(ok), total)
			}
			pending := listAll(t, s, tm.ID, w.ID, store.DeliveryFilter{Status: store.StatusPending})
			if len(pending) != 3 {
				t.Fatalf("pending filter = %d rows, want 3", len(pending))
			}
			byTask := listAll(t, s, tm.ID, w.ID, store.DeliveryFilter{TaskID: evs[1].TaskID})
			if len(byTask) != 1 || byTask[0].TaskID != evs[1].TaskID {
				t.Fatalf("task filter = %+v", byTask)
			}
			none := listAll(t, s, tm.ID, w.ID, store.DeliveryFilter{TaskID: evs[1].TaskID, Status: store.StatusFailed})
			if len(none) != 0 {
				t.Fatalf("task+status filter = %d rows, want 0", len(none))
			}
		}},
		{"TotalsFollowEveryChangeOfStatus", func(t *testing.T, s store.Store) {
			tm := mkTeam(t, s)
			w := mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
			other := mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
			for range 4 {
				ingestOne(t, s, mkEvent(t, tm.ID, "completed"))
			}
			totals := func(what string, want map[string]int) {
				t.Helper()
				sum := 0
				for _, status := range store.Statuses {
					_, n, err := s.ListDeliveries(ctx(t), tm.ID, w.ID, store.DeliveryFilter{Status: status}, store.Page{Number: 1, Size: 1})
					must(t, "ListDeliveries", err)
					if n != want[status] {
						t.Fatalf("%s: %d %s, want %d", what, n, status, want[status])
					}
					sum += n
				}
				all, n, err := s.ListDeliveries(ctx(t), tm.ID, w.ID, store.DeliveryFilter{}, store.Page{Number: 1, Size: 100})
				must(t, "ListDeliveries", err)
				if n != sum || len(all) != sum {
					t.Fatalf("%s: total %d with %d rows, want %d", what, n, len(all), sum)
				}
				for i := 1; i < len(all); i++ {
					if slices.Compare(all[i-1].ID[:], all[i].ID[:]) <= 0 {
						t.Fatalf("%s: the log is not newest first across statuses", what)
					}
				}
			}
			totals("after ingest", map[string]int{store.StatusPending: 4})
			var mine []store.LeasedDelivery
			for _, l := range leaseAll(t, s, "a", due()) {
				if l.WebhookID == w.ID {
					mine = append(mine, l)
				}
			}
			at := now()
			must(t, "RecordOutcomes", s.RecordOutcomes(ctx(t), []store.Outcome{
				outcome(mine[0], "a", 1, 200, true, nil, at),
				outcome(mine[1], "a", 1, 410, false, nil, at),
				outcome(mine[2], "a", 1, 503, false, ptr(at), at), // a retry stays pending
				outcome(mine[3], "stale", 1, 200, true, nil, at),  // a lost lease changes nothing
			}))
			totals("after outcomes", map[string]int{store.StatusPending: 2, store.StatusSucceeded: 1, store.StatusFailed: 1})
			_, err := s.Redeliver(ctx(t), tm.ID, w.ID, mine[1].DeliveryID, now())
			must(t, "Redeliver", err)
			totals("after redeliver", map[string]int{store.StatusPending: 3, store.StatusSucceeded: 1, store.StatusFailed: 1})
			must(t, "disable", s.UpdateWebhook(ctx(t), tm.ID, w.ID, store.WebhookPatch{Status: ptr(store.WebhookDisabled)}))
			totals("after disable", map[string]int{store.StatusSucceeded: 1, store.StatusFailed: 1, store.StatusCanceled: 3})
			// A page past the total is empty; the other webhook kept its own.
			page, n, err := s.ListDeliveries(ctx(t), tm.ID, w.ID, store.DeliveryFilter{}, store.Page{Number: 3, Size: 5})
			must(t, "ListDeliveries", err)
			if n != 5 || len(page) != 0 {
				t.Fatalf("page past the end = %d rows of %d", len(page), n)
			}
			if _, n, err := s.ListDeliveries(ctx(t), tm.ID, other.ID, store.DeliveryFilter{}, store.Page{Number: 1, Size: 1}); err != nil || n != 4 {
				t.Fatalf("the other webhook's total = %d, %v; want 4", n, err)
			}
			// Purged rows leave the totals.
			_, err = s.Purge(ctx(t), now().Add(time.Hour))
			must(t, "Purge", err)
			totals("after purge", map[string]int{})
		}},
		{"ListUnknownOrOtherTeamWebhookIsNotFound", func(t *testing.T, s store.Store) {
			tm, other := mkTeam(t, s), mkTeam(t, s)
			w := mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
			_, _, err := s.ListDeliveries(ctx(t), other.ID, w.ID, store.DeliveryFilter{}, store.Page{Number: 1, Size: 10})
			wantErr(t, "ListDeliveries other team", err, store.ErrNotFound)
			_, _, err = s.ListDeliveries(ctx(t), tm.ID, newID(t), store.DeliveryFilter{}, store.Page{Number: 1, Size: 10})
			wantErr(t, "ListDeliveries unknown webhook", err, store.ErrNotFound)
			ds, total, err := s.ListDeliveries(ctx(t), tm.ID, w.ID, store.DeliveryFilter{}, store.Page{Number: 1, Size: 10})
			if err != nil || total != 0 || len(ds) != 0 {
				t.Fatalf("empty log = %d rows, total %d, %v", len(ds), total, err)
			}
		}},
		{"GetIsScopedToTeamAndWebhook", func(t *testing.T, s store.Store) {
			tm, other := mkTeam(t, s), mkTeam(t, s)
			w := mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
			sibling := mkWebhook(t, s, tm.ID, store.WebhookActive, failed)
			ingestOne(t, s, mkEvent(t, tm.ID, "completed"))
			d := onlyDelivery(t, s, tm.ID, w.ID)
			for _, tc := range []struct {
				name          string
				team, webhook uuid.UUID
				id            uuid.UUID
			}{
				{"other team", other.ID, w.ID, d.ID},
				{"other webhook", tm.ID, sibling.ID, d.ID},
				{"unknown delivery", tm.ID, w.ID, newID(t)},
			} {
				_, err := s.GetDelivery(ctx(t), tc.team, tc.webhook, tc.id)
				wantErr(t, "GetDelivery "+tc.name, err, store.ErrNotFound)
			}
		}},
		{"RedeliverCreatesFreshPendingCopy", func(t *testing.T, s store.Store) {
			tm, w, l := leasedOne(t, s, "a")
			must(t, "RecordOutcomes", s.RecordOutcomes(ctx(t), []store.Outcome{outcome(l, "a", 1, 500, false, nil, now())}))
			at := now()
			id, err := s.Redeliver(ctx(t), tm.ID, w.ID, l.DeliveryID, at)
			must(t, "Redeliver", err)
			if id == l.DeliveryID || id == uuid.Nil {
				t.Fatalf("Redeliver returned %v", id)
			}
			d := getDelivery(t, s, tm.ID, w.ID, id)
			orig := getDelivery(t, s, tm.ID, w.ID, l.DeliveryID)
			if d.Status != store.StatusPending || d.AttemptCount != 0 || d.EventID != l.EventID || d.WebhookID != w.ID ||
				d.TaskID != orig.TaskID || d.EventType != completed || len(d.Attempts) != 0 ||
				d.LastStatusCode != nil || d.CompletedAt != nil || string(d.RequestBody) != string(orig.RequestBody) {
				t.Fatalf("redelivery = %+v", d)
			}
			got := leaseAll(t, s, "b", at)
			if len(got) != 1 || got[0].DeliveryID != id || got[0].EventID != l.EventID || got[0].AttemptCount != 0 {
				t.Fatalf("redelivery lease = %+v", got)
			}
			ids := []uuid.UUID{listAll(t, s, tm.ID, w.ID, store.DeliveryFilter{})[0].ID}
			if !slices.Equal(ids, []uuid.UUID{id}) {
				t.Fatalf("newest delivery %v, want the redelivery %v", ids, id)
			}
		}},
		{"RedeliverRefusals", func(t *testing.T, s store.Store) {
			tm, w, l := leasedOne(t, s, "a")
			other := mkTeam(t, s)
			sibling := mkWebhook(t, s, tm.ID, store.WebhookActive, failed)
			_, err := s.Redeliver(ctx(t), other.ID, w.ID, l.DeliveryID, now())
			wantErr(t, "Redeliver other team", err, store.ErrNotFound)
			_, err = s.Redeliver(ctx(t), tm.ID, sibling.ID, l.DeliveryID, now())
			wantErr(t, "Redeliver through other webhook", err, store.ErrNotFound)
			_, err = s.Redeliver(ctx(t), tm.ID, w.ID, newID(t), now())
			wantErr(t, "Redeliver unknown delivery", err, store.ErrNotFound)
			_, err = s.Redeliver(ctx(t), tm.ID, newID(t), l.DeliveryID, now())
			wantErr(t, "Redeliver unknown webhook", err, store.ErrNotFound)
			must(t, "disable", s.UpdateWebhook(ctx(t), tm.ID, w.ID, store.WebhookPatch{Status: ptr(store.WebhookDisabled)}))
			_, err = s.Redeliver(ctx(t), tm.ID, w.ID, l.DeliveryID, now())
			wantErr(t, "Redeliver disabled", err, store.ErrWebhookDisabled)
			if n := len(listAll(t, s, tm.ID, w.ID, store.DeliveryFilter{})); n != 1 {
				t.Fatalf("refused redeliveries left %d deliveries, want 1", n)
			}
		}},
		{"TestDeliveryWritesEventAndOneDelivery", func(t *testing.T, s store.Store) {
			tm := mkTeam(t, s)
			w := mkWebhook(t, s, tm.ID, store.WebhookActive, failed) // not subscribed: test ignores subscriptions
			mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
			ev := mkEvent(t, tm.ID, "completed")
			ev.EventType = "webhook.test"
			id, err := s.CreateTestDelivery(ctx(t), tm.ID, w.ID, ev)
			must(t, "CreateTestDelivery", err)
			d := getDelivery(t, s, tm.ID, w.ID, id)
			if d.EventType != "webhook.test" || d.EventID != ev.ID || d.TaskID != ev.TaskID || d.Status != store.StatusPending ||
				string(d.RequestBody) != string(ev.Body) {
				t.Fatalf("test delivery = %+v", d)
			}
			got := leaseAll(t, s, "a", due())
			if len(got) != 1 || got[0].DeliveryID != id || got[0].EventType != "webhook.test" {
				t.Fatalf("leased %+v, want only the test delivery", got)
			}
		}},
		{"TestDeliveryRefusals", func(t *testing.T, s store.Store) {
			tm, other := mkTeam(t, s), mkTeam(t, s)
			w := mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
			off := mkWebhook(t, s, tm.ID, store.WebhookDisabled, completed)
			test := func() store.NewEvent {
				ev := mkEvent(t, tm.ID, "completed")
				ev.EventType = "webhook.test"
				return ev
			}
			_, err := s.CreateTestDelivery(ctx(t), other.ID, w.ID, test())
			wantErr(t, "test through other team", err, store.ErrNotFound)
			_, err = s.CreateTestDelivery(ctx(t), tm.ID, newID(t), test())
			wantErr(t, "test unknown webhook", err, store.ErrNotFound)
			_, err = s.CreateTestDelivery(ctx(t), tm.ID, off.ID, test())
			wantErr(t, "test disabled webhook", err, store.ErrWebhookDisabled)
			if got := leaseAll(t, s, "a", due()); len(got) != 0 {
				t.Fatalf("refused tests left %d due deliveries", len(got))
			}
		}},
	}
}
