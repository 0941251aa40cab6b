package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hookd/hookd/internal/store"
)

// now is the wall clock at millisecond precision, in UTC.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// due is a lease time by which every row the store has created so far is
// due, whatever clock and precision the store stamps rows with.
func due() time.Time { return now().Add(time.Second) }

func newID(t *testing.T) uuid.UUID {
	t.Helper()
	id, err := uuid.NewV7()
	if err != nil {
		t.Fatalf("uuid: %v", err)
	}
	return id
}

func ptr[T any](v T) *T { return &v }

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: error %v, want %v", what, err, want)
	}
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func sameTime(t *testing.T, what string, got *time.Time, want time.Time) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s = nil, want %v", what, want)
	}
	if !got.Equal(want) {
		t.Fatalf("%s = %v, want %v", what, *got, want)
	}
	if got.Location() != time.UTC {
		t.Fatalf("%s location = %v, want UTC", what, got.Location())
	}
}

func mkTeam(t *testing.T, s store.Store) store.Team {
	t.Helper()
	tm := store.Team{ID: newID(t), DisplayName: "team", CreatedAt: now()}
	must(t, "CreateTeam", s.CreateTeam(ctx(t), tm))
	return tm
}

// mkWebhook creates a webhook of team with the given status and events.
func mkWebhook(t *testing.T, s store.Store, team uuid.UUID, status string, events ...string) store.Webhook {
	t.Helper()
	w := store.Webhook{
		ID:          newID(t),
		TeamID:      team,
		DisplayName: "hook",
		URL:         "https://example.com/hook/" + uuid.NewString(),
		SecretEnc:   []byte("enc:" + uuid.NewString()),
		Events:      events,
		Status:      status,
		CreatedAt:   now(),
	}
	must(t, "CreateWebhook", s.CreateWebhook(ctx(t), w))
	return w
}

// mkEvent builds a task event of team; status is completed or failed.
func mkEvent(t *testing.T, team uuid.UUID, status string) store.NewEvent {
	t.Helper()
	task := newID(t)
	return store.NewEvent{
		ID:         newID(t),
		TeamID:     team,
		TaskID:     task,
		EventType:  "task." + status,
		TaskStatus: status,
		Body:       fmt.Appendf(nil, `{"event_type":"task.%s","task_id":"%s"}`, status, task),
		CreatedAt:  now(),
	}
}

// eventAt is mkEvent made at a given time (its id carries that time, as
// store.NewEvent requires).
func eventAt(t *testing.T, team uuid.UUID, status string, at time.Time) store.NewEvent {
	t.Helper()
	ev := mkEvent(t, team, status)
	id, err := store.NewID(at)
	must(t, "NewID", err)
	ev.ID, ev.CreatedAt = id, at
	return ev
}

// ingest writes events and fails the test on a store error (per-event
// errors stay in the results).
func ingest(t *testing.T, s store.Store, evs ...store.NewEvent) []store.IngestResult {
	t.Helper()
	res, err := s.IngestEvents(ctx(t), evs, store.IngestOptions{})
	must(t, "IngestEvents", err)
	if len(res) != len(evs) {
		t.Fatalf("IngestEvents returned %d results for %d events", len(res), len(evs))
	}
	return res
}

// ingestOne ingests one new event and returns its result, requiring success.
func ingestOne(t *testing.T, s store.Store, ev store.NewEvent) store.IngestResult {
	t.Helper()
	r := ingest(t, s, ev)[0]
	if r.Err != nil {
		t.Fatalf("ingest: %v", r.Err)
	}
	return r
}

// listAll returns every delivery of a webhook, newest first.
func listAll(t *testing.T, s store.Store, team, webhook uuid.UUID, f store.DeliveryFilter) []store.Delivery {
	t.Helper()
	ds, total, err := s.ListDeliveries(ctx(t), team, webhook, f, store.Page{Number: 1, Size: 1000})
	must(t, "ListDeliveries", err)
	if total != len(ds) {
		t.Fatalf("ListDeliveries total %d, rows %d", total, len(ds))
	}
	return ds
}

// onlyDelivery returns the single delivery of a webhook.
func onlyDelivery(t *testing.T, s store.Store, team, webhook uuid.UUID) store.Delivery {
	t.Helper()
	ds := listAll(t, s, team, webhook, store.DeliveryFilter{})
	if len(ds) != 1 {
		t.Fatalf("webhook has %d deliveries, want 1", len(ds))
	}
	return ds[0]
}

func getDelivery(t *testing.T, s store.Store, team, webhook, id uuid.UUID) store.DeliveryDetail {
	t.Helper()
	d, err := s.GetDelivery(ctx(t), team, webhook, id)
	must(t, "GetDelivery", err)
	return d
}

// leaseAll leases every due delivery for owner, with a generous lease.
func leaseAll(t *testing.T, s store.Store, owner string, at time.Time) []store.LeasedDelivery {
	t.Helper()
	res, err := s.Lease(ctx(t), store.LeaseRequest{Owner: owner, Now: at, Until: at.Add(time.Minute), Limit: 1000})
	must(t, "Lease", err)
	return res.Deliveries
}

func leasedIDs(ls []store.LeasedDelivery) []uuid.UUID {
	ids := make([]uuid.UUID, len(ls))
	for i, l := range ls {
		ids[i] = l.DeliveryID
	}
	return ids
}

func sortedIDs(ids []uuid.UUID) []uuid.UUID {
	out := slices.Clone(ids)
	slices.SortFunc(out, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	return out
}

func sameIDs(t *testing.T, what string, got, want []uuid.UUID) {
	t.Helper()
	if !slices.Equal(sortedIDs(got), sortedIDs(want)) {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

// outcome builds the outcome of attempt number n of a leased delivery.
func outcome(l store.LeasedDelivery, owner string, n int, code int, ok bool, next *time.Time, finished time.Time) store.Outcome {
	var errText *string
	if !ok {
		errText = ptr(fmt.Sprintf("status %d", code))
	}
	return store.Outcome{
		DeliveryID: l.DeliveryID,
		WebhookID:  l.WebhookID,
		Owner:      owner,
		LeaseUntil: l.LeaseUntil,
		Attempt: store.Attempt{
			DeliveryID:    l.DeliveryID,
			AttemptNumber: n,
			StartedAt:     finished.Add(-25 * time.Millisecond),
			DurationMS:    25,
			StatusCode:    ptr(code),
			Error:         errText,
			ResponseBody:  fmt.Sprintf("answer %d", n),
		},
		Succeeded:     ok,
		NextAttemptAt: next,
		FinishedAt:    finished,
	}
}
