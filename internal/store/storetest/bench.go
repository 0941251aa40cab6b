package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookd/hookd/internal/store"
)

// BenchRecoverWindow measures accepting a recover call whose window holds n
// failed deliveries of one webhook (POST …/deliveries/recover is to answer
// within a second for 100,000). Each op gets a fresh webhook with n failed
// deliveries, made outside the timing; ns/op is one Recover call. Making
// the deliveries takes far longer than the call: run with -benchtime 1x.
func BenchRecoverWindow(b *testing.B, s store.Store, n int) {
	ctx := context.Background()
	tm := store.Team{ID: uuid.Must(uuid.NewV7()), DisplayName: "bench", CreatedAt: time.Now()}
	if err := s.CreateTeam(ctx, tm); err != nil {
		b.Fatal(err)
	}
	for range b.N {
		b.StopTimer()
		w, since := failedWebhook(b, s, tm, n)
		r := store.Recovery{ID: uuid.Must(uuid.NewV7()), TeamID: tm.ID, WebhookID: w.ID, Since: since,
			Until: time.Now().Add(time.Second), CreatedAt: time.Now().Add(time.Second)}
		b.StartTimer()
		got, err := s.Recover(ctx, r)
		b.StopTimer()
		if err != nil || got != n {
			b.Fatalf("Recover claimed %d (%v), want %d", got, err, n)
		}
	}
}

// failedWebhook makes a webhook of tm with n deliveries that ended failed,
// and returns it with a time before every failure.
func failedWebhook(b *testing.B, s store.Store, tm store.Team, n int) (store.Webhook, time.Time) {
	ctx := context.Background()
	for _, w := range listWebhooks(b, s, tm) { // each op's webhook alone is active
		disabled := store.WebhookDisabled
		if err := s.UpdateWebhook(ctx, tm.ID, w.ID, store.WebhookPatch{Status: &disabled}); err != nil {
			b.Fatal(err)
		}
	}
	w := store.Webhook{ID: uuid.Must(uuid.NewV7()), TeamID: tm.ID, DisplayName: "bench", URL: "https://example.com/h",
		SecretEnc: []byte("s"), Events: []string{"task.completed"}, Status: store.WebhookActive, CreatedAt: time.Now()}
	if err := s.CreateWebhook(ctx, w); err != nil {
		b.Fatal(err)
	}
	since := time.Now().Add(-time.Second)
	events := make([]store.NewEvent, 1000)
	for made := 0; made < n; made += len(events) {
		batch := events[:min(len(events), n-made)]
		for i := range batch {
			task := uuid.Must(uuid.NewV7())
			at := time.Now()
			id, err := store.NewID(at)
			if err != nil {
				b.Fatal(err)
			}
			batch[i] = store.NewEvent{ID: id, TeamID: tm.ID, TaskID: task, EventType: "task.completed",
				TaskStatus: "completed", Body: []byte(`{"task_id":"` + task.String() + `"}`), CreatedAt: at}
		}
		if _, err := s.IngestEvents(ctx, batch, store.IngestOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	for {
		now := time.Now()
		res, err := s.Lease(ctx, store.LeaseRequest{Owner: "bench", Now: now.Add(time.Second), Until: now.Add(time.Hour), Limit: 2000})
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Deliveries) == 0 {
			return w, since
		}
		outcomes := make([]store.Outcome, len(res.Deliveries))
		for i, l := range res.Deliveries {
			outcomes[i] = store.Outcome{DeliveryID: l.DeliveryID, WebhookID: l.WebhookID, Owner: l.Owner, LeaseUntil: l.LeaseUntil,
				FinishedAt: now, Attempt: store.Attempt{DeliveryID: l.DeliveryID, AttemptNumber: 5, StartedAt: now}}
		}
		if err := s.RecordOutcomes(ctx, outcomes); err != nil {
			b.Fatal(err)
		}
	}
}

func listWebhooks(b *testing.B, s store.Store, tm store.Team) []store.Webhook {
	ws, _, err := s.ListWebhooks(context.Background(), tm.ID, store.WebhookActive, store.Page{Number: 1, Size: 100})
	if err != nil {
		b.Fatal(err)
	}
	return ws
}
