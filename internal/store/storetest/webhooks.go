package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hookd/hookd/internal/store"
)

const (
	completed = "task.completed"
	failed    = "task.failed"
)

func webhookCases() []testCase {
	return []testCase{
		{"CreateAndGet", func(t *testing.T, s store.Store) {
			tm := mkTeam(t, s)
			w := mkWebhook(t, s, tm.ID, store.WebhookActive, completed, failed)
			got, err := s.GetWebhook(ctx(t), tm.ID, w.ID)
			must(t, "GetWebhook", err)
			if got.ID != w.ID || got.TeamID != tm.ID || got.DisplayName != w.DisplayName || got.URL != w.URL ||
				string(got.SecretEnc) != string(w.SecretEnc) || got.Status != store.WebhookActive ||
				!slices.Equal(got.Events, []string{completed, failed}) || got.LastDeliveredAt != nil {
				t.Fatalf("GetWebhook = %+v, want %+v", got, w)
			}
			sameTime(t, "CreatedAt", &got.CreatedAt, w.CreatedAt)
		}},
		{"OtherTeamIsNotFound", func(t *testing.T, s store.Store) {
			tm, other := mkTeam(t, s), mkTeam(t, s)
			w := mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
			_, err := s.GetWebhook(ctx(t), other.ID, w.ID)
			wantErr(t, "GetWebhook other team", err, store.ErrNotFound)
			_, err = s.GetWebhook(ctx(t), tm.ID, newID(t))
			wantErr(t, "GetWebhook unknown", err, store.ErrNotFound)
			name := "stolen"
			wantErr(t, "UpdateWebhook other team", s.UpdateWebhook(ctx(t), other.ID, w.ID, store.WebhookPatch{DisplayName: &name}), store.ErrNotFound)
			wantErr(t, "DeleteWebhook other team", s.DeleteWebhook(ctx(t), other.ID, w.ID), store.ErrNotFound)
			got, err := s.GetWebhook(ctx(t), tm.ID, w.ID)
			must(t, "GetWebhook", err)
			if got.DisplayName != w.DisplayName {
				t.Fatalf("another team renamed the webhook to %q", got.DisplayName)
			}
		}},
		{"ListNewestFirstWithStatusFilterAndPages", func(t *testing.T, s store.Store) {
			tm, other := mkTeam(t, s), mkTeam(t, s)
			base := now().Add(-time.Hour)
			var ids []uuid.UUID
			for i := range 5 {
				status := store.WebhookActive
				if i == 1 || i == 2 {
					status = store.WebhookDisabled
				}
				w := store.Webhook{
					ID: newID(t), TeamID: tm.ID, DisplayName: "h", URL: "https://example.com/",
					SecretEnc: []byte("x"), Events: []string{completed}, Status: status,
					CreatedAt: base.Add(time.Duration(i) * time.Second),
				}
				must(t, "CreateWebhook", s.CreateWebhook(ctx(t), w))
				ids = append(ids, w.ID)
			}
			mkWebhook(t, s, other.ID, store.WebhookActive, completed)

			all, total, err := s.ListWebhooks(ctx(t), tm.ID, "", store.Page{Number: 1, Size: 10})
			must(t, "ListWebhooks", err)
			want := []uuid.UUID{ids[4], ids[3], ids[2], ids[1], ids[0]}
			if total != 5 || !slices.Equal(hookIDs(all), want) {
				t.Fatalf("ListWebhooks = %v (total %d), want %v", hookIDs(all), total, want)
			}
			page2, total, err := s.ListWebhooks(ctx(t), tm.ID, "", store.Page{Number: 2, Size: 2})
			must(t, "ListWebhooks page 2", err)
			if total != 5 || !slices.Equal(hookIDs(page2), want[2:4]) {
				t.Fatalf("page 2 = %v (total %d), want %v", hookIDs(page2), total, want[2:4])
			}
			disabled, total, err := s.ListWebhooks(ctx(t), tm.ID, store.WebhookDisabled, store.Page{Number: 1, Size: 10})
			must(t, "ListWebhooks disabled", err)
			if total != 2 || !slices.Equal(hookIDs(disabled), []uuid.UUID{ids[2], ids[1]}) {
				t.Fatalf("disabled = %v (total %d)", hookIDs(disabled), total)
			}
			active, total, err := s.ListWebhooks(ctx(t), tm.ID, store.WebhookActive, store.Page{Number: 1, Size: 1})
			must(t, "ListWebhooks active", err)
			if total != 3 || !slices.Equal(hookIDs(active), []uuid.UUID{ids[4]}) {
				t.Fatalf("active page = %v (total %d)", hookIDs(active), total)
			}
			none, total, err := s.ListWebhooks(ctx(t), newID(t), "", store.Page{Number: 1, Size: 10})
			must(t, "ListWebhooks unknown team", err)
			if total != 0 || len(none) != 0 {
				t.Fatalf("unknown team lists %d webhooks (total %d)", len(none), total)
			}
		}},
		{"UpdateChangesOnlyGivenFields", func(t *testing.T, s store.Store) {
			tm := mkTeam(t, s)
			w := mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
			steps := []struct {
				name  string
				patch store.WebhookPatch
				apply func(*store.Webhook)
			}{
				{"empty", store.WebhookPatch{}, func(*store.Webhook) {}},
				{"name", store.WebhookPatch{DisplayName: ptr("renamed")}, func(w *store.Webhook) { w.DisplayName = "renamed" }},
				{"url", store.WebhookPatch{URL: ptr("https://example.org/new")}, func(w *store.Webhook) { w.URL = "https://example.org/new" }},
				{"events", store.WebhookPatch{Events: []string{completed, failed}}, func(w *store.Webhook) { w.Events = []string{completed, failed} }},
				{"secret", store.WebhookPatch{SecretEnc: []byte("rotated")}, func(w *store.Webhook) { w.SecretEnc = []byte("rotated") }},
				{"disable", store.WebhookPatch{Status: ptr(store.WebhookDisabled)}, func(w *store.Webhook) { w.Status = store.WebhookDisabled }},
				{"enable", store.WebhookPatch{Status: ptr(store.WebhookActive)}, func(w *store.Webhook) { w.Status = store.WebhookActive }},
			}
			for _, st := range steps {
				must(t, "UpdateWebhook "+st.name, s.UpdateWebhook(ctx(t), tm.ID, w.ID, st.patch))
				st.apply(&w)
				got, err := s.GetWebhook(ctx(t), tm.ID, w.ID)
				must(t, "GetWebhook", err)
				if got.DisplayName != w.DisplayName || got.URL != w.URL || string(got.SecretEnc) != string(w.SecretEnc) ||
					got.Status != w.Status || !slices.Equal(got.Events, w.Events) || !got.CreatedAt.Equal(w.CreatedAt) {
					t.Fatalf("after %s patch: %+v, want %+v", st.name, got, w)
				}
			}
		}},
		{"UpdateUnknownIsNotFound", func(t *testing.T, s store.Store) {
			tm := mkTeam(t, s)
			wantErr(t, "UpdateWebhook", s.UpdateWebhook(ctx(t), tm.ID, newID(t), store.WebhookPatch{}), store.ErrNotFound)
		}},
		{"DeleteRemoves", func(t *testing.T, s store.Store) {
			tm := mkTeam(t, s)
			w := mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
			keep := mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
			must(t, "DeleteWebhook", s.DeleteWebhook(ctx(t), tm.ID, w.ID))
			_, err := s.GetWebhook(ctx(t), tm.ID, w.ID)
			wantErr(t, "GetWebhook after delete", err, store.ErrNotFound)
			wantErr(t, "DeleteWebhook twice", s.DeleteWebhook(ctx(t), tm.ID, w.ID), store.ErrNotFound)
			list, total, err := s.ListWebhooks(ctx(t), tm.ID, "", store.Page{Number: 1, Size: 10})
			must(t, "ListWebhooks", err)
			if total != 1 || len(list) != 1 || list[0].ID != keep.ID {
				t.Fatalf("after delete list = %v (total %d), want only %v", hookIDs(list), total, keep.ID)
			}
		}},
		{"DisableCancelsPendingDeliveries", func(t *testing.T, s store.Store) {
			tm := mkTeam(t, s)
			w := mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
			other := mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
			ingestOne(t, s, mkEvent(t, tm.ID, "completed"))
			leased := leaseAll(t, s, "p1", due())
			if len(leased) != 2 {
				t.Fatalf("leased %d, want 2", len(leased))
			}
			ingestOne(t, s, mkEvent(t, tm.ID, "completed")) // one unleased pending row too
			before := now()
			must(t, "disable", s.UpdateWebhook(ctx(t), tm.ID, w.ID, store.WebhookPatch{Status: ptr(store.WebhookDisabled)}))
			for _, d := range listAll(t, s, tm.ID, w.ID, store.DeliveryFilter{}) {
				if d.Status != store.StatusCanceled || d.CompletedAt == nil || d.CompletedAt.Before(before.Add(-time.Second)) || d.NextAttemptAt != nil {
					t.Fatalf("delivery of disabled webhook: %+v, want canceled with CompletedAt and no NextAttemptAt", d)
				}
			}
			for _, d := range listAll(t, s, tm.ID, other.ID, store.DeliveryFilter{}) {
				if d.Status != store.StatusPending {
					t.Fatalf("delivery of another webhook became %s", d.Status)
				}
			}
			if got := leaseAll(t, s, "p2", now().Add(time.Hour)); len(got) != 2 || got[0].WebhookID != other.ID || got[1].WebhookID != other.ID {
				t.Fatalf("lease after disable returned %d rows, want the 2 of the other webhook", len(got))
			}
			// Re-enabling does not replay what was canceled.
			must(t, "enable", s.UpdateWebhook(ctx(t), tm.ID, w.ID, store.WebhookPatch{Status: ptr(store.WebhookActive)}))
			for _, l := range leaseAll(t, s, "p3", now().Add(2*time.Hour)) {
				if l.WebhookID == w.ID {
					t.Fatalf("re-enabling made canceled delivery %v due", l.DeliveryID)
				}
			}
		}},
		{"DeleteCancelsPendingDeliveries", func(t *testing.T, s store.Store) {
			tm := mkTeam(t, s)
			w := mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
			ingestOne(t, s, mkEvent(t, tm.ID, "completed"))
			d := leaseAll(t, s, "p1", due())
			if len(d) != 1 {
				t.Fatalf("leased %d, want 1", len(d))
			}
			must(t, "DeleteWebhook", s.DeleteWebhook(ctx(t), tm.ID, w.ID))
			if got := leaseAll(t, s, "p2", now().Add(time.Hour)); len(got) != 0 {
				t.Fatalf("deleted webhook's delivery leased again: %d rows", len(got))
			}
			// The in-flight attempt finishes after the delete: recorded, no panic, no resurrection.
			must(t, "RecordOutcomes", s.RecordOutcomes(ctx(t), []store.Outcome{outcome(d[0], "p1", 1, 500, false, ptr(now()), now())}))
			if got := leaseAll(t, s, "p3", now().Add(2*time.Hour)); len(got) != 0 {
				t.Fatalf("outcome after delete made the delivery due: %d rows", len(got))
			}
			_, _, err := s.ListDeliveries(ctx(t), tm.ID, w.ID, store.DeliveryFilter{}, store.Page{Number: 1, Size: 10})
			wantErr(t, "ListDeliveries of deleted webhook", err, store.ErrNotFound)
		}},
	}
}

func hookIDs(ws []store.Webhook) []uuid.UUID {
	ids := make([]uuid.UUID, len(ws))
	for i, w := range ws {
		ids[i] = w.ID
	}
	return ids
}
