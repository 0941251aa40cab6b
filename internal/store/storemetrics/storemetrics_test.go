package storemetrics

import (
	"context"
	"errors"
	"maps"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookd/hookd/internal/store"
)

type fakeSource struct {
	stats    store.QueueStats
	pingErr  error
	statsErr error
	block    bool // QueueStats waits for its context to end
	reads    atomic.Int32
}

func (f *fakeSource) Ping(context.Context) error { return f.pingErr }

func (f *fakeSource) QueueStats(ctx context.Context, _ time.Time, _ time.Duration) (store.QueueStats, error) {
	f.reads.Add(1)
	if f.block {
		<-ctx.Done()
		return store.QueueStats{}, ctx.Err()
	}
	return f.stats, f.statsErr
}

func newTestCollector(t *testing.T, src Source, clock *time.Time) (*Collector, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	c, err := NewCollector(reg, src, time.Minute, 5*time.Second, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	c.now = func() time.Time { return *clock }
	return c, reg
}

func TestCollectorExportsEveryStateAndTheAges(t *testing.T) {
	clock := time.Date(2026, 2, 16, 10, 0, 0, 0, time.UTC)
	oldest, overdue := clock.Add(-90*time.Second), clock.Add(-1500*time.Millisecond)
	src := &fakeSource{stats: store.QueueStats{Pending: 3, Leased: 2, Succeeded: 40, Failed: 5, Canceled: 1,
		OldestPending: &oldest, OverdueSince: &overdue}}
	_, reg := newTestCollector(t, src, &clock)
	got := gather(t, reg)
	want := map[string]float64{
		`hookd_deliveries{state="pending"}`:           3,
		`hookd_deliveries{state="leased"}`:            2,
		`hookd_deliveries{state="succeeded"}`:         40,
		`hookd_deliveries{state="failed"}`:            5,
		`hookd_deliveries{state="canceled"}`:          1,
		`hookd_deliveries_oldest_pending_age_seconds`: 90,
		`hookd_deliveries_overdue_seconds`:            1.5,
		`hookd_ready`:                                 1,
		`hookd_store_stats_errors_total`:              0,
	}
	if !maps.Equal(got, want) {
		t.Fatalf("scrape:\n got %v\nwant %v", got, want)
	}
}

// gather scrapes reg into series name{labels} → value (gauges and counters).
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+`="`+l.GetValue()+`"`)
			}
			if len(labels) > 0 {
				name += "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case m.GetGauge() != nil:
				out[name] = m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				out[name] = m.GetCounter().GetValue()
			case m.GetHistogram() != nil:
				out[name+" count"] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

func TestCollectorReadsTheStoreAtMostOncePerMaxAge(t *testing.T) {
	clock := time.Date(2026, 2, 16, 10, 0, 0, 0, time.UTC)
	src := &fakeSource{}
	_, reg := newTestCollector(t, src, &clock)
	for range 10 {
		if _, err := reg.Gather(); err != nil {
			t.Fatal(err)
		}
	}
	if n := src.reads.Load(); n != 1 {
		t.Fatalf("10 scrapes within max age read the store %d times, want 1", n)
	}
	clock = clock.Add(5 * time.Second)
	if _, err := reg.Gather(); err != nil {
		t.Fatal(err)
	}
	if n := src.reads.Load(); n != 2 {
		t.Fatalf("a scrape after max age: %d reads, want 2", n)
	}
}

func TestCollectorLeavesOutTheGaugesItCouldNotRead(t *testing.T) {
	clock := time.Now()
	for _, c := range []struct {
		name      string
		src       *fakeSource
		wantReady float64
	}{
		{"stats error", &fakeSource{statsErr: errors.New("boom")}, 1},
		{"stats timeout", &fakeSource{block: true}, 1},
		{"store down", &fakeSource{pingErr: errors.New("down")}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, reg := newTestCollector(t, c.src, &clock)
			start := time.Now()
			got := gather(t, reg)
			if took := time.Since(start); took > time.Second {
				t.Fatalf("a scrape took %v: the timeout did not bound the reading", took)
			}
			want := map[string]float64{"hookd_ready": c.wantReady, "hookd_store_stats_errors_total": 1}
			if !maps.Equal(got, want) {
				t.Fatalf("scrape:\n got %v\nwant %v (no store gauges)", got, want)
			}
		})
	}
}

func TestObserverCountsCommittedRoundsByModeAndCreations(t *testing.T) {
	reg := prometheus.NewRegistry()
	o, err := NewObserver(reg)
	if err != nil {
		t.Fatal(err)
	}
	o.CommitRound(store.Round{Calls: 3, Sync: true, Duration: 2 * time.Millisecond})
	o.CommitRound(store.Round{Calls: 1, Sync: false, Duration: time.Millisecond})
	o.CommitRound(store.Round{Calls: 5, Sync: false, Duration: time.Millisecond})
	o.CommitRound(store.Round{Calls: 2, Sync: true, Err: errors.New("disk full")})
	o.DeliveriesCreated(store.SourceIngest, "task.completed", 4)
	o.DeliveriesCreated(store.SourceIngest, "task.completed", 1)
	o.DeliveriesCreated(store.SourceTest, "webhook.test", 1)
	got := gather(t, reg)
	for name, want := range map[string]float64{
		`hookd_store_commit_rounds_total{mode="sync"}`:                                1,
		`hookd_store_commit_rounds_total{mode="async"}`:                               2,
		`hookd_store_commit_round_failures_total`:                                     1,
		`hookd_store_commit_round_calls{mode="async"} count`:                          2,
		`hookd_store_commit_round_duration_seconds{mode="sync"} count`:                1,
		`hookd_deliveries_created_total{event_type="task.completed",source="ingest"}`: 5,
		`hookd_deliveries_created_total{event_type="webhook.test",source="test"}`:     1,
	} {
		if got[name] != want {
			t.Errorf("%s = %v, want %v", name, got[name], want)
		}
	}
}
