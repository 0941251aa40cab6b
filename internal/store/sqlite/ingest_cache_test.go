package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hookd/hookd/internal/store"
)

// The writer's cache of each team's active webhooks never outlives a change
// of them: a webhook created, disabled or deleted applies to the very next
// ingest, and a round that rolled back leaves nothing cached from it.
func TestIngestSeesWebhookChangesAtOnce(t *testing.T) {
	s, team := benchStore(t) // two webhooks
	ctx := context.Background()
	count := func() int {
		t.Helper()
		rs, err := s.IngestEvents(ctx, []store.NewEvent{benchEvent(team)}, store.IngestOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return rs[0].DeliveryCount
	}
	if n := count(); n != 2 {
		t.Fatalf("deliveries %d, want 2", n)
	}
	third := store.Webhook{ID: uuid.New(), TeamID: team, DisplayName: "h", URL: "https://example.com",
		SecretEnc: []byte("s"), Events: []string{"task.completed"}, Status: store.WebhookActive}
	if err := s.CreateWebhook(ctx, third); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 3 {
		t.Fatalf("after create: deliveries %d, want 3", n)
	}
	disabled := store.WebhookDisabled
	if err := s.UpdateWebhook(ctx, team, third.ID, store.WebhookPatch{Status: &disabled}); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 2 {
		t.Fatalf("after disable: deliveries %d, want 2", n)
	}
	if err := s.DeleteWebhook(ctx, team, third.ID); err != nil {
		t.Fatal(err)
	}
	// A job that fails after it read the webhooks: nothing it saw stays.
	err := s.write(ctx, func(w *wtx) error {
		if _, err := w.exec(`UPDATE webhooks SET status = 'disabled' WHERE team_id = ?`, blob(team)); err != nil {
			return err
		}
		in := ingester{w: w, targets: s.targets, now: time.Now()}
		if ts, err := in.teamTargets(team); err != nil || len(ts) != 0 {
			t.Errorf("inside the round: %d targets, %v", len(ts), err)
		}
		panic("the round's job fails")
	})
	if err == nil {
		t.Fatal("a panicking job succeeded")
	}
	if n := count(); n != 2 {
		t.Fatalf("after a rolled-back change: deliveries %d, want 2", n)
	}
}
