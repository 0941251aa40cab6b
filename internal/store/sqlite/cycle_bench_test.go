package sqlite

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hookd/hookd/internal/store"
)

// BenchmarkDeliveryCycle measures the store's share of one delivery in the
// throughput scenario: one webhook with a long queue, a lane of 16, and every
// round recording the outcomes of the previous round's leases before leasing
// as many again. ns/op is per delivery.
func BenchmarkDeliveryCycle(b *testing.B) {
	for _, lane := range []int{16, 64} {
		b.Run(fmt.Sprintf("lane%d", lane), func(b *testing.B) { deliveryCycle(b, lane) })
	}
}

func deliveryCycle(b *testing.B, lane int) {
	const queued = 20000
	s, team := benchStore(b)
	ctx := context.Background()
	events := make([]store.NewEvent, 500)
	for n := 0; n < queued; n += len(events) {
		for i := range events {
			events[i] = benchEvent(team)
		}
		if _, err := s.IngestEvents(ctx, events, store.IngestOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	var inFlight []store.LeasedDelivery
	ok := 200
	b.ReportAllocs()
	cpuBefore := processCPU(b)
	b.ResetTimer()
	for done := 0; done < b.N; {
		now := time.Now()
		outcomes := make([]store.Outcome, len(inFlight))
		for i, d := range inFlight {
			outcomes[i] = store.Outcome{DeliveryID: d.DeliveryID, WebhookID: d.WebhookID, Owner: "bench", LeaseUntil: d.LeaseUntil,
				Attempt:   store.Attempt{DeliveryID: d.DeliveryID, AttemptNumber: 1, StartedAt: now, StatusCode: &ok},
				Succeeded: true, FinishedAt: now}
		}
		if err := s.RecordOutcomes(ctx, outcomes); err != nil {
			b.Fatal(err)
		}
		done += len(outcomes)
		perHook := map[uuid.UUID]int{}
		res, err := s.Lease(ctx, store.LeaseRequest{Owner: "bench", Now: now, Until: now.Add(time.Minute), Limit: 240,
			Admit: func(h uuid.UUID) bool {
				if perHook[h] >= lane {
					return false
				}
				perHook[h]++
				return true
			}})
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Deliveries) == 0 {
			b.Fatal("queue ran dry: raise queued")
		}
		inFlight = res.Deliveries
	}
	b.StopTimer()
	// On a shared machine wall time varies with the neighbours; the CPU the
	// process spent per delivery does much less.
	b.ReportMetric(float64(processCPU(b)-cpuBefore)/float64(b.N), "cpu-ns/op")
}

// processCPU is the user plus system CPU time this process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
