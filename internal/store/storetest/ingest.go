package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hookd/hookd/internal/store"
)

func ingestCases() []testCase {
	return []testCase{
		{"FansOutToActiveSubscribedWebhooksOnly", func(t *testing.T, s store.Store) {
			tm, other := mkTeam(t, s), mkTeam(t, s)
			onlyCompleted := mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
			both := mkWebhook(t, s, tm.ID, store.WebhookActive, completed, failed)
			onlyFailed := mkWebhook(t, s, tm.ID, store.WebhookActive, failed)
			disabled := mkWebhook(t, s, tm.ID, store.WebhookDisabled, completed, failed)
			otherTeam := mkWebhook(t, s, other.ID, store.WebhookActive, completed, failed)

			ev := mkEvent(t, tm.ID, "completed")
			before := now()
			r := ingestOne(t, s, ev)
			if r.EventID != ev.ID || r.DeliveryCount != 2 || r.Duplicate || len(r.Leased) != 0 {
				t.Fatalf("ingest = %+v, want event %v with 2 deliveries", r, ev.ID)
			}
			for _, w := range []store.Webhook{onlyCompleted, both} {
				d := onlyDelivery(t, s, tm.ID, w.ID)
				if d.EventID != ev.ID || d.WebhookID != w.ID || d.TeamID != tm.ID || d.EventType != completed ||
					d.TaskID != ev.TaskID || d.Status != store.StatusPending || d.AttemptCount != 0 ||
					d.LastStatusCode != nil || d.LastError != nil || d.CompletedAt != nil {
					t.Fatalf("delivery = %+v", d)
				}
				if d.NextAttemptAt == nil || d.NextAttemptAt.After(now().Add(time.Second)) {
					t.Fatalf("NextAttemptAt = %v, want due now", d.NextAttemptAt)
				}
				if d.CreatedAt.Before(before.Add(-time.Second)) || d.CreatedAt.Location() != time.UTC {
					t.Fatalf("CreatedAt = %v, want about now in UTC", d.CreatedAt)
				}
				detail := getDelivery(t, s, tm.ID, w.ID, d.ID)
				if string(detail.RequestBody) != string(ev.Body) || len(detail.Attempts) != 0 {
					t.Fatalf("detail body %q attempts %d, want %q and none", detail.RequestBody, len(detail.Attempts), ev.Body)
				}
			}
			for _, w := range []store.Webhook{onlyFailed, disabled} {
				if n := len(listAll(t, s, tm.ID, w.ID, store.DeliveryFilter{})); n != 0 {
					t.Fatalf("webhook %v (events %v, %s) got %d deliveries", w.ID, w.Events, w.Status, n)
				}
			}
			if n := len(listAll(t, s, other.ID, otherTeam.ID, store.DeliveryFilter{})); n != 0 {
				t.Fatalf("another team's webhook got %d deliveries", n)
			}

			fev := mkEvent(t, tm.ID, "failed")
			if r := ingestOne(t, s, fev); r.DeliveryCount != 2 {
				t.Fatalf("failed event delivery count %d, want 2 (both, onlyFailed)", r.DeliveryCount)
			}
			if d := onlyDelivery(t, s, tm.ID, onlyFailed.ID); d.EventType != failed || d.TaskID != fev.TaskID {
				t.Fatalf("failed delivery = %+v", d)
			}
		}},
		{"UnknownTeamIsAcceptedWithoutDeliveries", func(t *testing.T, s store.Store) {
			ev := mkEvent(t, newID(t), "completed")
			r := ingestOne(t, s, ev)
			if r.EventID != ev.ID || r.DeliveryCount != 0 || r.Duplicate {
				t.Fatalf("ingest for unknown team = %+v", r)
			}
			again := ev
			again.ID = newID(t)
			if r := ingest(t, s, again)[0]; !r.Duplicate || r.EventID != ev.ID || r.Err != nil {
				t.Fatalf("repeat for unknown team = %+v, want duplicate of %v", r, ev.ID)
			}
		}},
		{"SameTaskSameStatusIsDuplicateWithOriginalAnswer", func(t *testing.T, s store.Store) {
			tm := mkTeam(t, s)
			w := mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
			ev := mkEvent(t, tm.ID, "completed")
			ingestOne(t, s, ev)
			mkWebhook(t, s, tm.ID, store.WebhookActive, completed) // a later webhook must not change the answer

			again := ev
			again.ID = newID(t)
			again.Body = []byte(`{"second":"payload"}`)
			r := ingest(t, s, again)[0]
			if r.Err != nil || !r.Duplicate || r.EventID != ev.ID || r.DeliveryCount != 1 || len(r.Leased) != 0 {
				t.Fatalf("duplicate = %+v, want original event %v with count 1", r, ev.ID)
			}
			d := onlyDelivery(t, s, tm.ID, w.ID)
			if body := getDelivery(t, s, tm.ID, w.ID, d.ID).RequestBody; string(body) != string(ev.Body) {
				t.Fatalf("body after duplicate = %q, want the first payload", body)
			}
			// A redelivery does not change the original count either.
			_, err := s.Redeliver(ctx(t), tm.ID, w.ID, d.ID, now())
			must(t, "Redeliver", err)
			if r := ingest(t, s, again)[0]; r.DeliveryCount != 1 {
				t.Fatalf("count after redeliver = %d, want 1", r.DeliveryCount)
			}
		}},
		{"SameTaskOtherStatusOrTeamIsConflict", func(t *testing.T, s store.Store) {
			tm, other := mkTeam(t, s), mkTeam(t, s)
			w := mkWebhook(t, s, tm.ID, store.WebhookActive, completed, failed)
			mkWebhook(t, s, other.ID, store.WebhookActive, completed, failed)
			ev := mkEvent(t, tm.ID, "completed")
			ingestOne(t, s, ev)

			otherStatus := ev
			otherStatus.ID, otherStatus.TaskStatus, otherStatus.EventType = newID(t), "failed", failed
			otherTeam := ev
			otherTeam.ID, otherTeam.TeamID = newID(t), other.ID
			for _, tc := range []struct {
				name string
				ev   store.NewEvent
			}{{"other status", otherStatus}, {"other team", otherTeam}} {
				r := ingest(t, s, tc.ev)[0]
				wantErr(t, tc.name, r.Err, store.ErrConflict)
				if r.Duplicate {
					t.Fatalf("%s: Duplicate set on a conflict", tc.name)
				}
			}
			if n := len(listAll(t, s, tm.ID, w.ID, store.DeliveryFilter{})); n != 1 {
				t.Fatalf("deliveries after conflicts = %d, want 1", n)
			}
		}},
		{"BatchIsInOrderWithInternalDuplicates", func(t *testing.T, s store.Store) {
			tm := mkTeam(t, s)
			w := mkWebhook(t, s, tm.ID, store.WebhookActive, completed, failed)
			first := mkEvent(t, tm.ID, "completed")
			dup := first
			dup.ID = newID(t)
			clash := first
			clash.ID, clash.TaskStatus, clash.EventType = newID(t), "failed", failed
			plain := mkEvent(t, tm.ID, "failed")

			rs := ingest(t, s, first, dup, clash, plain)
			if rs[0].Err != nil || rs[0].Duplicate || rs[0].EventID != first.ID || rs[0].DeliveryCount != 1 {
				t.Fatalf("result 0 = %+v", rs[0])
			}
			if rs[1].Err != nil || !rs[1].Duplicate || rs[1].EventID != first.ID || rs[1].DeliveryCount != 1 {
				t.Fatalf("result 1 = %+v, want duplicate of %v", rs[1], first.ID)
			}
			wantErr(t, "result 2", rs[2].Err, store.ErrConflict)
			if rs[3].Err != nil || rs[3].EventID != plain.ID || rs[3].DeliveryCount != 1 {
				t.Fatalf("result 3 = %+v", rs[3])
			}
			if n := len(listAll(t, s, tm.ID, w.ID, store.DeliveryFilter{})); n != 2 {
				t.Fatalf("deliveries = %d, want 2", n)
			}
		}},
		{"EmptyBatch", func(t *testing.T, s store.Store) {
			rs, err := s.IngestEvents(ctx(t), nil, store.IngestOptions{})
			if err != nil || len(rs) != 0 {
				t.Fatalf("empty ingest = %v, %v", rs, err)
			}
		}},
		{"LeaseAtIngestLeasesAdmittedOnly", func(t *testing.T, s store.Store) {
			tm := mkTeam(t, s)
			admitted := mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
			refused := mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
			until := now().Add(time.Minute)
			var asked []uuid.UUID
			opt := store.IngestOptions{Lease: &store.LeaseRequest{
				Owner: "ingester", Now: now(), Until: until, Limit: 100,
				Admit: func(id uuid.UUID) bool { asked = append(asked, id); return id == admitted.ID },
			}}
			ev := mkEvent(t, tm.ID, "completed")
			rs, err := s.IngestEvents(ctx(t), []store.NewEvent{ev}, opt)
			must(t, "IngestEvents", err)
			r := rs[0]
			if r.Err != nil || r.DeliveryCount != 2 || len(r.Leased) != 1 {
				t.Fatalf("ingest with lease = %+v, want 2 deliveries, 1 leased", r)
			}
			sameIDs(t, "Admit asked for", asked, []uuid.UUID{admitted.ID, refused.ID})
			l := r.Leased[0]
			want := onlyDelivery(t, s, tm.ID, admitted.ID)
			if l.DeliveryID != want.ID || l.EventID != ev.ID || l.WebhookID != admitted.ID || l.TeamID != tm.ID ||
				l.EventType != completed || l.AttemptCount != 0 || string(l.Body) != string(ev.Body) ||
				l.URL != admitted.URL || string(l.SecretEnc) != string(admitted.SecretEnc) {
				t.Fatalf("leased delivery = %+v", l)
			}
			sameTime(t, "LeaseUntil", &l.LeaseUntil, until)

			// Another process sees only the unleased one until the lease expires.
			got := leaseAll(t, s, "other", due())
			if len(got) != 1 || got[0].WebhookID != refused.ID {
				t.Fatalf("other owner leased %v, want only the refused webhook's delivery", leasedIDs(got))
			}
			got = leaseAll(t, s, "other", until.Add(time.Second))
			if !slices.Contains(leasedIDs(got), l.DeliveryID) {
				t.Fatalf("after expiry other owner leased %v, want it to include %v", leasedIDs(got), l.DeliveryID)
			}
		}},
		{"DuplicateIsNotLeasedAgain", func(t *testing.T, s store.Store) {
			tm := mkTeam(t, s)
			mkWebhook(t, s, tm.ID, store.WebhookActive, completed)
			ev := mkEvent(t, tm.ID, "completed")
			opt := store.IngestOptions{Lease: &store.LeaseRequest{Owner: "a", Now: now(), Until: now().Add(time.Minute), Limit: 10}}
			rs, err := s.IngestEvents(ctx(t), []store.NewEvent{ev}, opt)
			must(t, "IngestEvents", err)
			if len(rs[0].Leased) != 1 {
				t.Fatalf("nil Admit leased %d, want all (1)", len(rs[0].Leased))
			}
			rs, err = s.IngestEvents(ctx(t), []store.NewEvent{ev}, opt)
			must(t, "IngestEvents again", err)
			if !rs[0].Duplicate || len(rs[0].Leased) != 0 {
				t.Fatalf("duplicate with lease = %+v, want no leased rows", rs[0])
			}
		}},
	}
}
