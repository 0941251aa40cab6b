package sqlite

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/hookd/hookd/internal/store"
	"github.com/hookd/hookd/internal/store/storetest"
)

// benchStore is a store with one team and two subscribed webhooks, so each
// ingest writes an event and two deliveries.
func benchStore(b testing.TB) (*Store, uuid.UUID) {
	s, _ := openTemp(b)
	ctx := context.Background()
	team := uuid.New()
	if err := s.CreateTeam(ctx, store.Team{ID: team, DisplayName: "bench"}); err != nil {
		b.Fatal(err)
	}
	for range 2 {
		if err := s.CreateWebhook(ctx, store.Webhook{ID: uuid.New(), TeamID: team, DisplayName: "h",
			URL: "https://example.com", SecretEnc: []byte("s"), Events: []string{"task.completed"},
			Status: store.WebhookActive}); err != nil {
			b.Fatal(err)
		}
	}
	return s, team
}

func benchEvent(team uuid.UUID) store.NewEvent {
	return store.NewEvent{ID: uuid.Must(uuid.NewV7()), TeamID: team, TaskID: uuid.New(), EventType: "task.completed",
		TaskStatus: "completed", Body: []byte(`{"event_type":"task.completed","task_output":{"image_count":1}}`)}
}

// BenchmarkIngest compares one caller at a time (one commit, one fsync per
// event) with 64 concurrent callers, whose events share commits. The
// events/commit metric is the group-commit factor.
func BenchmarkIngest(b *testing.B) {
	for _, tc := range []struct {
		name        string
		parallelism int // goroutines per GOMAXPROCS; 0: a single caller
	}{{"serial", 0}, {"concurrent64", 64}} {
		b.Run(tc.name, func(b *testing.B) {
			s, team := benchStore(b)
			ctx := context.Background()
			ingest := func() {
				if _, err := s.IngestEvents(ctx, []store.NewEvent{benchEvent(team)}, store.IngestOptions{}); err != nil {
					b.Error(err)
				}
			}
			roundsBefore := s.stats.rounds.Load()
			b.ReportAllocs()
			b.ResetTimer()
			if tc.parallelism == 0 {
				for b.Loop() {
					ingest()
				}
			} else {
				b.SetParallelism(tc.parallelism)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						ingest()
					}
				})
			}
			b.StopTimer()
			rounds := s.stats.rounds.Load() - roundsBefore
			b.ReportMetric(float64(b.N)/float64(max(rounds, 1)), "events/commit")
		})
	}
}

// BenchmarkIngestBatch is the batch ingest API's store share: 500 events a
// call, each to the two webhooks. ns/op and cpu-ns/op are per delivery.
func BenchmarkIngestBatch(b *testing.B) {
	s, team := benchStore(b)
	ctx := context.Background()
	events := make([]store.NewEvent, 500)
	b.ReportAllocs()
	cpuBefore := processCPU(b)
	b.ResetTimer()
	for done := 0; done < b.N; done += 2 * len(events) {
		for i := range events {
			events[i] = benchEvent(team)
		}
		if _, err := s.IngestEvents(ctx, events, store.IngestOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(processCPU(b)-cpuBefore)/float64(b.N), "cpu-ns/op")
}

// BenchmarkQueueStats: what one metrics reading costs with 1000 webhooks and
// 100k deliveries, 1000 of them leased and 33k falling due for a retry
// within the lease duration (see storetest.LoadForQueueStats).
func BenchmarkQueueStats(b *testing.B) {
	s, _ := openTemp(b)
	at := storetest.LoadForQueueStats(b, s, 1000, 100)
	storetest.BenchQueueStats(b, s, at)
}

// BenchmarkRecoverWindow: accepting a recover call over 100,000 failed
// deliveries (go test -run '^$' -bench RecoverWindow -benchtime 1x).
func BenchmarkRecoverWindow(b *testing.B) {
	s, _ := openTemp(b)
	storetest.BenchRecoverWindow(b, s, 100_000)
}
