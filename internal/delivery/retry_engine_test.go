package delivery

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/store"
)

var quickSchedule = []time.Duration{0, 100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond}

// lateBound is how much later than scheduled a retry may arrive: far below
// the safety-net poll, so it holds only if the wake paths work.
const lateBound = 300 * time.Millisecond

func TestRetriesFollowScheduleUntilFailed(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		rc := newReceiver(t, answer(http.StatusInternalServerError, "boom"))
		w, _ := e.webhook(t, e.team, rc.URL())
		eng := e.newEngine(t, Config{Schedule: quickSchedule})
		start(t, eng)

		e.ingest(t, e.team, 1)
		eng.Wake()
		d := e.settled(t, e.team, w, e.only(t, e.team, w).ID, 10*time.Second)

		if d.Status != store.StatusFailed || d.AttemptCount != 5 || d.CompletedAt == nil || d.NextAttemptAt != nil {
			t.Fatalf("delivery = %+v, want failed after 5 attempts", d.Delivery)
		}
		if deref(d.LastStatusCode) != 500 || deref(d.LastError) != "HTTP 500" {
			t.Fatalf("last status %v error %v, want 500 / HTTP 500", deref(d.LastStatusCode), deref(d.LastError))
		}
		if len(d.Attempts) != 5 {
			t.Fatalf("%d attempt rows, want 5", len(d.Attempts))
		}
		for i, a := range d.Attempts {
			if a.AttemptNumber != i+1 || deref(a.StatusCode) != 500 || deref(a.Error) != "HTTP 500" || a.ResponseBody != "boom" {
				t.Fatalf("attempt %d = %+v", i+1, a)
			}
		}
		reqs := rc.requests()
		if len(reqs) != 5 {
			t.Fatalf("receiver saw %d requests, want 5", len(reqs))
		}
		for i := 1; i < len(reqs); i++ {
			gap, want := reqs[i].at.Sub(reqs[i-1].at), quickSchedule[i-1]
			if gap < want || gap > want+lateBound {
				t.Errorf("gap before attempt %d = %v, want %v (at most %v late)", i+1, gap, want, lateBound)
			}
		}
		time.Sleep(500 * time.Millisecond)
		if n := rc.count(); n != 5 {
			t.Fatalf("a failed delivery was attempted again: %d requests", n)
		}
	})
}

func TestSuccessStopsRetries(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		rc := newReceiver(t, func(w http.ResponseWriter, _ *http.Request, n int) {
			if n < 3 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			_, _ = w.Write([]byte("thanks"))
		})
		w, _ := e.webhook(t, e.team, rc.URL())
		eng := e.newEngine(t, Config{Schedule: quickSchedule})
		start(t, eng)

		e.ingest(t, e.team, 1)
		eng.Wake()
		d := e.settled(t, e.team, w, e.only(t, e.team, w).ID, 10*time.Second)

		if d.Status != store.StatusSucceeded || d.AttemptCount != 3 || d.CompletedAt == nil {
			t.Fatalf("delivery = %+v, want succeeded on attempt 3", d.Delivery)
		}
		if len(d.Attempts) != 3 || deref(d.Attempts[2].StatusCode) != 200 || d.Attempts[2].Error != nil ||
			d.Attempts[2].ResponseBody != "thanks" || deref(d.Attempts[0].Error) != "HTTP 503" {
			t.Fatalf("attempts = %+v", d.Attempts)
		}
		hook, err := st.GetWebhook(context.Background(), e.team.ID, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		if hook.LastDeliveredAt == nil {
			t.Fatal("last_delivered_at not set after a success")
		}
		time.Sleep(400 * time.Millisecond)
		if n := rc.count(); n != 3 {
			t.Fatalf("a succeeded delivery was attempted again: %d requests", n)
		}
	})
}

// With an empty schedule a delivery gets exactly one attempt.
func TestEmptyScheduleMeansOneAttempt(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		rc := newReceiver(t, answer(http.StatusBadGateway, ""))
		w, _ := e.webhook(t, e.team, rc.URL())
		eng := e.newEngine(t, Config{Schedule: []time.Duration{}})
		start(t, eng)
		e.ingest(t, e.team, 1)
		eng.Wake()
		d := e.settled(t, e.team, w, e.only(t, e.team, w).ID, 5*time.Second)
		if d.Status != store.StatusFailed || d.AttemptCount != 1 || rc.count() != 1 {
			t.Fatalf("delivery = %+v after %d requests, want failed after 1", d.Delivery, rc.count())
		}
	})
}
