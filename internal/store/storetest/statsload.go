package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hookd/hookd/internal/store"
)

// LoadForQueueStats fills s for a QueueStats benchmark and returns the
// time to read it at: webhooks webhooks (one team each) with perWebhook
// deliveries each, of which 1000 stay leased (until 30 s later; a few
// processes' worth of attempts in flight) and the rest split in three:
// succeeded, waiting for a retry 20 s away (inside a 40 s lease duration, so
// the live-lease count reads them) and 2 minutes away (outside: not read).
func LoadForQueueStats(tb testing.TB, s store.Store, webhooks, perWebhook int) time.Time {
	tb.Helper()
	ctx := context.Background()
	at := time.Now().UTC().Truncate(time.Millisecond)
	var events []store.NewEvent
	for range webhooks {
		team := store.Team{ID: uuid.Must(uuid.NewV7()), DisplayName: "t", CreatedAt: at}
		if err := s.CreateTeam(ctx, team); err != nil {
			tb.Fatal(err)
		}
		if err := s.CreateWebhook(ctx, store.Webhook{ID: uuid.Must(uuid.NewV7()), TeamID: team.ID, DisplayName: "h",
			URL: "https://example.com/h", SecretEnc: []byte("s"), Events: []string{completed},
			Status: store.WebhookActive, CreatedAt: at}); err != nil {
			tb.Fatal(err)
		}
		for range perWebhook {
			id, _ := store.NewID(at)
			events = append(events, store.NewEvent{ID: id, TeamID: team.ID, TaskID: uuid.New(), EventType: completed,
				TaskStatus: "completed", Body: []byte(`{}`), CreatedAt: at})
		}
	}
	for len(events) > 0 {
		n := min(len(events), 1000)
		if _, err := s.IngestEvents(ctx, events[:n], store.IngestOptions{}); err != nil {
			tb.Fatal(err)
		}
		events = events[n:]
	}
	near, far := at.Add(20*time.Second), at.Add(2*time.Minute)
	seen := 0
	for {
		res, err := s.Lease(ctx, store.LeaseRequest{Owner: "load", Now: at, Until: at.Add(30 * time.Second), Limit: 1000})
		if err != nil {
			tb.Fatal(err)
		}
		if len(res.Deliveries) == 0 {
			return at
		}
		var outs []store.Outcome
		for _, l := range res.Deliveries {
			seen++
			switch {
			case seen <= 1000: // stays leased
			case seen%3 == 0:
				outs = append(outs, outcome(l, "load", 1, 200, true, nil, at))
			case seen%3 == 1:
				outs = append(outs, outcome(l, "load", 1, 500, false, &near, at))
			default:
				outs = append(outs, outcome(l, "load", 1, 500, false, &far, at))
			}
		}
		if err := s.RecordOutcomes(ctx, outs); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchQueueStats times QueueStats at at on a store LoadForQueueStats
// filled, with the default lease duration (10 s timeout + 30 s margin).
func BenchQueueStats(b *testing.B, s store.Store, at time.Time) {
	ctx := context.Background()
	var q store.QueueStats
	for b.Loop() {
		var err error
		if q, err = s.QueueStats(ctx, at, 40*time.Second); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(q.Total()), "deliveries")
	if q.Leased != 1000 || q.Pending == 0 || q.Succeeded == 0 {
		b.Fatal(fmt.Sprintf("load did not reach every state: %+v", q))
	}
}
