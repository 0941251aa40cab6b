package delivery

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	dto "github.com/prometheus/client_model/go"

	"github.com/hookd/hookd/internal/store"
	"github.com/hookd/hookd/internal/store/postgres"
)

// A webhook whose endpoint hangs holds at most PerWebhook slots; another
// webhook's deliveries flow past it, all done before the first timeout.
func TestSlowEndpointDoesNotDelayOthers(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		const timeout = 3 * time.Second
		slow := newReceiver(t, hang)
		fast := newReceiver(t, answer(http.StatusNoContent, ""))
		slowTeam, fastTeam := e.team, newTeam(t, st)
		e.webhook(t, slowTeam, slow.URL())
		fastHook, _ := e.webhook(t, fastTeam, fast.URL())
		eng := e.newEngine(t, Config{Workers: 8, PerWebhook: 4, Timeout: timeout, Schedule: []time.Duration{}})
		start(t, eng)

		e.ingest(t, slowTeam, 20)
		eng.Wake()
		waitFor(t, 2*time.Second, "the slow endpoint to fill its lane", func() bool {
			inFlight, _, _ := slow.stats()
			return inFlight == 4
		})
		began := time.Now()
		e.ingest(t, fastTeam, 40)
		eng.Wake()
		waitFor(t, timeout-500*time.Millisecond, "every fast delivery to succeed", func() bool {
			ds, total, err := st.ListDeliveries(context.Background(), fastTeam.ID, fastHook.ID,
				store.DeliveryFilter{Status: store.StatusSucceeded}, store.Page{Number: 1, Size: 1})
			return err == nil && len(ds) == 1 && total == 40
		})
		t.Logf("40 fast deliveries beside a hung endpoint took %v", time.Since(began))
		_, slowMax, _ := slow.stats()
		_, fastMax, _ := fast.stats()
		if slowMax > 4 || fastMax > 4 {
			t.Fatalf("concurrency per webhook: slow %d, fast %d; cap 4", slowMax, fastMax)
		}
		if slow.count() != 4 {
			t.Fatalf("slow endpoint got %d requests before its first timeout, want 4", slow.count())
		}
	})
}

// Deliveries leased at ingest go straight to the lanes: they are sent
// without any lease round (the dispatcher is never woken here). What Admit
// refuses for a full lane is left unleased and sent once a slot frees.
func TestIngestLeaseDispatch(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		rc := newReceiver(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
			time.Sleep(20 * time.Millisecond)
		})
		w, _ := e.webhook(t, e.team, rc.URL())
		eng := e.newEngine(t, Config{PerWebhook: 1})
		start(t, eng)

		req := eng.IngestLease()
		if req == nil || req.Owner != eng.current().owner || req.Admit == nil || !req.Until.After(time.Now().Add(eng.cfg.Timeout)) {
			t.Fatalf("IngestLease = %+v", req)
		}
		res := ingestWith(t, st, events(t, e.team, 1), store.IngestOptions{Lease: req})
		if len(res[0].Leased) != 1 {
			t.Fatalf("ingest leased %d deliveries, want 1", len(res[0].Leased))
		}
		eng.Dispatch(req, res[0].Leased)
		d := e.settled(t, e.team, w, res[0].Leased[0].DeliveryID, 2*time.Second)
		if d.Status != store.StatusSucceeded {
			t.Fatalf("delivery %s, want succeeded", d.Status)
		}

		// Four events at once for a lane of one slot and a window of two:
		// three leased (one sent, two waiting in the window), one waiting in
		// the store, delivered one at a time as the slot frees.
		req = eng.IngestLease()
		res = ingestWith(t, st, events(t, e.team, 4), store.IngestOptions{Lease: req})
		var leased []store.LeasedDelivery
		for _, r := range res {
			leased = append(leased, r.Leased...)
		}
		eng.Dispatch(req, leased)
		if len(leased) != 3 {
			t.Fatalf("ingest leased %d deliveries into a lane of 1+2, want 3", len(leased))
		}
		eng.Wake()
		waitFor(t, 5*time.Second, "all five deliveries", func() bool {
			for _, d := range e.deliveries(t, e.team, w) {
				if d.Status != store.StatusSucceeded {
					return false
				}
			}
			return true
		})
		if _, maxConc, _ := rc.stats(); maxConc != 1 {
			t.Fatalf("lane of 1 had %d attempts in flight", maxConc)
		}
		if running, held, _, _ := eng.lanes.counts(w.ID); running != 0 || held != 0 {
			t.Fatalf("%d running, %d held after everything finished", running, held)
		}
	})
}

// Two engines (two processes) on one queue never send a delivery twice
// while both are alive.
func TestTwoEnginesShareQueueWithoutDuplicates(t *testing.T) {
	run := func(t *testing.T, st1, st2 store.Store) {
		e := newEnv(t, st1)
		var mu sync.Mutex
		seen := make(map[string]int)
		rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
			mu.Lock()
			seen[r.Header.Get("X-Webhook-Delivery")]++
			mu.Unlock()
			time.Sleep(time.Duration(n%4) * time.Millisecond)
		})
		var hooks []store.Webhook
		for range 4 {
			w, _ := e.webhook(t, e.team, rc.URL())
			hooks = append(hooks, w)
		}
		cfg := Config{Workers: 6, PerWebhook: 2}
		a := e.newEngine(t, cfg)
		e2 := *e
		e2.st = st2
		b := e2.newEngine(t, cfg)
		start(t, a)
		start(t, b)

		const events = 60
		for i := 0; i < events; i += 10 {
			e.ingest(t, e.team, 10)
			a.Wake()
			b.Wake()
		}
		want := events * len(hooks)
		waitFor(t, 30*time.Second, "every delivery to succeed", func() bool {
			for _, w := range hooks {
				_, total, err := st1.ListDeliveries(context.Background(), e.team.ID, w.ID,
					store.DeliveryFilter{Status: store.StatusSucceeded}, store.Page{Number: 1, Size: 1})
				if err != nil || total != events {
					return false
				}
			}
			return true
		})
		// Both engines must have taken part, or this proves nothing.
		for name, eng := range map[string]*Engine{"a": a, "b": b} {
			var m dto.Metric
			if err := eng.metrics.leased.WithLabelValues("dispatcher").Write(&m); err != nil || m.GetCounter().GetValue() == 0 {
				t.Fatalf("engine %s leased nothing (err %v)", name, err)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if len(seen) != want {
			t.Fatalf("receiver saw %d distinct deliveries, want %d", len(seen), want)
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("delivery %s sent %d times", id, n)
			}
			if _, err := uuid.Parse(id); err != nil {
				t.Errorf("X-Webhook-Delivery %q: %v", id, err)
			}
		}
	}
	t.Run("sqlite", func(t *testing.T) {
		st := openSQLite(t)
		run(t, st, st)
	})
	t.Run("postgres", func(t *testing.T) {
		opt := postgres.TestSchema(t)
		run(t, postgres.OpenTest(t, opt), postgres.OpenTest(t, opt))
	})
}
