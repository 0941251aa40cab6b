package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/store"
	"github.com/hookd/hookd/internal/store/storetest"
)

// BenchmarkIngestConcurrent measures single-event ingests from 64
// concurrent callers (one delivery each), with group commit and with one
// commit per call, so the gain of sharing the flush is visible:
//
//	HOOKD_TEST_DATABASE_URL=… go test -run '^$' -bench IngestConcurrent ./internal/store/postgres
func BenchmarkIngestConcurrent(b *testing.B) {
	for _, bc := range []struct {
		name     string
		maxCalls int
	}{{"group-commit", 0}, {"commit-per-call", 1}} {
		b.Run(bc.name, func(b *testing.B) {
			opt := TestSchema(b)
			opt.maxRoundCalls = bc.maxCalls
			s := OpenTest(b, opt)
			team, _ := fixture(b, s)
			b.SetParallelism(32) // 32×GOMAXPROCS callers
			b.ReportAllocs()
			start := time.Now()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					rs, err := s.IngestEvents(context.Background(), []store.NewEvent{newEvent(team)}, store.IngestOptions{})
					if err != nil || rs[0].Err != nil || rs[0].DeliveryCount != 1 {
						b.Errorf("ingest: %+v, %v", rs, err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
			if rounds := s.writer.rounds.Load(); rounds > 0 {
				b.ReportMetric(float64(b.N)/float64(rounds), "events/commit")
			}
		})
	}
}

// BenchmarkQueueStats: what one metrics reading costs with 1000 webhooks and
// 100k deliveries, 1000 of them leased and 33k falling due for a retry
// within the lease duration (see storetest.LoadForQueueStats).
func BenchmarkQueueStats(b *testing.B) {
	s := TestStore(b)
	at := storetest.LoadForQueueStats(b, s, 1000, 100)
	if _, err := s.pool.Exec(context.Background(), "ANALYZE"); err != nil {
		b.Fatal(err)
	}
	storetest.BenchQueueStats(b, s, at)
}

// BenchmarkRecoverWindow: accepting a recover call over 100,000 failed
// deliveries (go test -run '^$' -bench RecoverWindow -benchtime 1x).
func BenchmarkRecoverWindow(b *testing.B) {
	storetest.BenchRecoverWindow(b, TestStore(b), 100_000)
}
