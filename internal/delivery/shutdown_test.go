package delivery

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/hookd/hookd/internal/store"
)

// Canceling Run with attempts in flight lets them finish and records them;
// deliveries never started stay unleased for another process; no goroutine
// is left behind.
func TestShutdownFinishesInFlightAttempts(t *testing.T) {
	for _, sc := range storeCases {
		t.Run(sc.name, func(t *testing.T) {
			// Cleanups run last-registered first: this one runs after the
			// store, the servers and the client's connections are closed.
			leaks := goleak.IgnoreCurrent()
			t.Cleanup(func() { goleak.VerifyNone(t, leaks) })
			{
				st := sc.open(t)
				e := newEnv(t, st)
				release := make(chan struct{})
				rc := newReceiver(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
					<-release
				})
				w, _ := e.webhook(t, e.team, rc.URL())
				eng := e.newEngine(t, Config{Workers: 3, PerWebhook: 3, Timeout: 5 * time.Second})
				stop := start(t, eng)
				e.ingest(t, e.team, 5)
				eng.Wake()
				waitFor(t, 5*time.Second, "three attempts in flight", func() bool {
					inFlight, _, _ := rc.stats()
					return inFlight == 3
				})

				stopped := make(chan struct{})
				go func() { stop(); close(stopped) }()
				waitFor(t, 2*time.Second, "the engine to stop taking work", eng.isStopping)
				if eng.IngestLease() != nil {
					t.Error("IngestLease while stopping returned a lease")
				}
				select {
				case <-stopped:
					t.Fatal("Run returned before its attempts in flight finished")
				case <-time.After(100 * time.Millisecond):
				}
				close(release)
				select {
				case <-stopped:
				case <-time.After(10 * time.Second):
					t.Fatal("Run did not return")
				}

				succeeded, pending := 0, 0
				for _, d := range e.deliveries(t, e.team, w) {
					switch {
					case d.Status == store.StatusSucceeded && d.AttemptCount == 1:
						succeeded++
					case d.Status == store.StatusPending && d.AttemptCount == 0:
						pending++
					default:
						t.Errorf("delivery after shutdown: %s with %d attempts", d.Status, d.AttemptCount)
					}
				}
				if succeeded != 3 || pending != 2 {
					t.Fatalf("after shutdown: %d succeeded, %d pending; want 3 and 2", succeeded, pending)
				}
				// Nothing is left leased: another process takes the rest at once.
				res, err := st.Lease(context.Background(), store.LeaseRequest{Owner: "next", Now: time.Now(), Until: time.Now().Add(time.Minute), Limit: 10})
				if err != nil || len(res.Deliveries) != 2 {
					t.Fatalf("another owner leased %d deliveries (err %v), want 2", len(res.Deliveries), err)
				}
			}
		})
	}
}

// registerOnly makes eng look running under a registered identity without
// a dispatcher (which would take released rows itself): white box.
func registerOnly(t *testing.T, eng *Engine) *membership {
	t.Helper()
	reg, err := eng.q.Register(context.Background())
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &membership{reg: reg, owner: reg.Owner(), ctx: ctx, cancel: cancel}
	t.Cleanup(func() { cancel(); _ = reg.Close() })
	eng.mu.Lock()
	eng.running, eng.member = true, m
	eng.mu.Unlock()
	return m
}

// Deliveries an ingest leased that cannot start (their lease ends before an
// attempt could) are released to the queue at once, and their places freed.
func TestDispatchReleasesWhatCannotStart(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		rc := newReceiver(t, answer(200, ""))
		w, _ := e.webhook(t, e.team, rc.URL())
		eng := e.newEngine(t, Config{Timeout: time.Second})
		registerOnly(t, eng)

		req := eng.IngestLease()
		req.Until = time.Now().Add(2 * time.Second).Truncate(time.Microsecond) // shorter than Timeout + startMargin
		res := ingestWith(t, st, events(t, e.team, 1), store.IngestOptions{Lease: req})
		if len(res[0].Leased) != 1 {
			t.Fatalf("ingest leased %d, want 1", len(res[0].Leased))
		}
		eng.Dispatch(req, res[0].Leased)
		now := time.Now()
		got, err := st.Lease(context.Background(), store.LeaseRequest{Owner: "other", Now: now, Until: now.Add(time.Minute), Limit: 10})
		if err != nil || len(got.Deliveries) != 1 {
			t.Fatalf("after Dispatch of a short lease another owner leased %d (%v), want 1", len(got.Deliveries), err)
		}
		if rc.count() != 0 {
			t.Fatalf("receiver saw %d requests, want 0", rc.count())
		}
		if running, held, _, _ := eng.lanes.counts(w.ID); running != 0 || held != 0 {
			t.Fatalf("places still held: %d running, %d held", running, held)
		}
	})
}

// An ingest that failed gives its places back at once, and leases it may
// have committed all the same (the commit answer was lost) are given back
// by the dispatcher and sent within moments, not a lease period later.
func TestAbandonedIngestLeasesAreGivenBack(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		rc := newReceiver(t, answer(200, ""))
		w, _ := e.webhook(t, e.team, rc.URL())
		eng := e.newEngine(t, Config{})
		start(t, eng)
		req := eng.IngestLease()
		res := ingestWith(t, st, events(t, e.team, 2), store.IngestOptions{Lease: req})
		if n := len(res[0].Leased) + len(res[1].Leased); n != 2 {
			t.Fatalf("ingest leased %d, want 2", n)
		}
		// The ingest committed, but its caller saw an error.
		eng.Abandon(req)
		if _, held, _, _ := eng.lanes.counts(w.ID); held != 0 {
			t.Fatalf("%d places still held after Abandon", held)
		}
		waitFor(t, 3*time.Second, "both deliveries to succeed", func() bool {
			for _, d := range e.deliveries(t, e.team, w) {
				if d.Status != store.StatusSucceeded {
					return false
				}
			}
			return true
		})
		if rc.count() != 2 {
			t.Fatalf("receiver saw %d requests, want 2", rc.count())
		}
	})
}

// flakyStore fails the first RecordOutcomes calls.
type flakyStore struct {
	store.Store
	failures atomic.Int32
}

func (f *flakyStore) RecordOutcomes(ctx context.Context, outcomes []store.Outcome) error {
	if f.failures.Add(-1) >= 0 {
		return errors.New("store unavailable")
	}
	return f.Store.RecordOutcomes(ctx, outcomes)
}

// An outcome the store refuses is retried until recorded, never dropped.
func TestOutcomesRetriedUntilRecorded(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		flaky := &flakyStore{Store: st}
		flaky.failures.Store(3)
		e := newEnv(t, st)
		e.st = flaky
		rc := newReceiver(t, answer(200, ""))
		w, _ := e.webhook(t, e.team, rc.URL())
		reg := prometheus.NewRegistry()
		eng := e.newEngine(t, Config{Registerer: reg})
		start(t, eng)
		e.ingest(t, e.team, 1)
		eng.Wake()
		d := e.settled(t, e.team, w, e.only(t, e.team, w).ID, 5*time.Second)
		if d.Status != store.StatusSucceeded || len(d.Attempts) != 1 || rc.count() != 1 {
			t.Fatalf("delivery %s with %d attempts after %d requests, want succeeded once", d.Status, len(d.Attempts), rc.count())
		}
		if got := gathered(t, reg, "hookd_delivery_record_failures_total", ""); got != 3 {
			t.Fatalf("record failures metric = %v, want 3", got)
		}
		if got := gathered(t, reg, "hookd_delivery_attempts_total", classSucceeded); got != 1 {
			t.Fatalf("succeeded attempts metric = %v, want 1", got)
		}
		if got := gathered(t, reg, "hookd_delivery_leased_total", "dispatcher"); got != 1 {
			t.Fatalf("leased metric = %v, want 1", got)
		}
		if got := gathered(t, reg, "hookd_delivery_first_attempt_latency_seconds", ""); got != 1 {
			t.Fatalf("first-attempt latency observations = %v, want 1", got)
		}
	})
}

// gathered reads a counter (its value) or a histogram (its sample count)
// from reg; label, when set, selects the series whose one label has it.
func gathered(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if label != "" && (len(m.GetLabel()) != 1 || m.GetLabel()[0].GetValue() != label) {
				continue
			}
			if h := m.GetHistogram(); h != nil {
				return float64(h.GetSampleCount())
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}
