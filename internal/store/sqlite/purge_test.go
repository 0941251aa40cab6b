package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hookd/hookd/internal/store"
)

// TestPurgeChunksSkipKeptEvents purges with a tiny chunk so that every chunk
// of events holds ones a pending delivery keeps; the cursor must still reach
// every orphan.
func TestPurgeChunksSkipKeptEvents(t *testing.T) {
	s, _ := openTemp(t)
	s.purgeChunk = 2
	ctx := context.Background()
	team := store.Team{ID: uuid.New(), DisplayName: "t"}
	if err := s.CreateTeam(ctx, team); err != nil {
		t.Fatal(err)
	}
	hook := store.Webhook{ID: uuid.New(), TeamID: team.ID, DisplayName: "h", URL: "https://example.com",
		SecretEnc: []byte("s"), Events: []string{"task.completed"}, Status: store.WebhookActive}
	if err := s.CreateWebhook(ctx, hook); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-48 * time.Hour)
	var orphans []uuid.UUID
	for i := range 9 {
		at := old.Add(time.Duration(i) * time.Second)
		ev := store.NewEvent{ID: mustID(t, at), TeamID: uuid.New(), TaskID: uuid.New(), EventType: "task.completed",
			TaskStatus: "completed", Body: []byte("{}"), CreatedAt: at}
		if i%3 == 0 {
			ev.TeamID = team.ID // gets a pending delivery: kept
		} else {
			orphans = append(orphans, ev.TaskID)
		}
		if _, err := s.IngestEvents(ctx, []store.NewEvent{ev}, store.IngestOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	roundsBefore := s.stats.rounds.Load()
	n, err := s.Purge(ctx, time.Now().Add(-time.Hour))
	if err != nil || n != len(orphans) {
		t.Fatalf("Purge = %d, %v; want %d orphan events", n, err, len(orphans))
	}
	if rounds := s.stats.rounds.Load() - roundsBefore; rounds < 5 {
		t.Fatalf("purge of 9 events in chunks of 2 took %d commits, want at least 5", rounds)
	}
	var left int
	if err := s.reader.QueryRow(`SELECT count(*) FROM events`).Scan(&left); err != nil || left != 3 {
		t.Fatalf("events left = %d, %v; want the 3 with pending deliveries", left, err)
	}
}

func mustID(t *testing.T, at time.Time) uuid.UUID {
	t.Helper()
	id, err := store.NewID(at)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
