package delivery

import (
	"bytes"
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/store"
	"github.com/hookd/hookd/webhooksig"
)

// Every attempt sends the stored bytes, signed, with the SPEC §5 headers;
// the delivery id stays the same across attempts.
func TestAttemptsSendSameSignedBody(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		rc := newReceiver(t, func(w http.ResponseWriter, _ *http.Request, n int) {
			if n < 3 {
				w.WriteHeader(500)
			}
		})
		w, secret := e.webhook(t, e.team, rc.URL())
		eng := e.newEngine(t, Config{Schedule: []time.Duration{0, 20 * time.Millisecond}, UserAgent: "hookd/1.2.3"})
		start(t, eng)
		res := e.ingest(t, e.team, 1)
		eng.Wake()
		d := e.settled(t, e.team, w, e.only(t, e.team, w).ID, 5*time.Second)
		if d.Status != store.StatusSucceeded {
			t.Fatalf("delivery %s, want succeeded", d.Status)
		}

		reqs := rc.requests()
		if len(reqs) != 3 {
			t.Fatalf("%d requests, want 3", len(reqs))
		}
		for i, r := range reqs {
			if !bytes.Equal(r.body, d.RequestBody) {
				t.Errorf("attempt %d body %q, stored %q", i+1, r.body, d.RequestBody)
			}
			if err := webhooksig.Verify(secret, r.body, r.header.Get(webhooksig.Header)); err != nil {
				t.Errorf("attempt %d signature: %v", i+1, err)
			}
			want := map[string]string{
				"Content-Type":       "application/json",
				"User-Agent":         "hookd/1.2.3",
				"X-Webhook-Event":    "task.completed",
				"X-Webhook-Delivery": d.ID.String(),
				"X-Webhook-Event-ID": res[0].EventID.String(),
			}
			for k, v := range want {
				if got := r.header.Get(k); got != v {
					t.Errorf("attempt %d header %s = %q, want %q", i+1, k, got, v)
				}
			}
		}
	})
}

// A rotation between attempts signs the next attempt with the new secret.
func TestRotationSignsNextAttemptWithNewSecret(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		rotated := newSecret(t)
		var hook atomic.Pointer[store.Webhook] // set before any request arrives
		rc := newReceiver(t, func(rw http.ResponseWriter, _ *http.Request, n int) {
			if n == 1 {
				err := st.UpdateWebhook(context.Background(), e.team.ID, hook.Load().ID, store.WebhookPatch{SecretEnc: e.box.Seal([]byte(rotated))})
				if err != nil {
					panic(err)
				}
				rw.WriteHeader(500)
			}
		})
		w, old := e.webhook(t, e.team, rc.URL())
		hook.Store(&w)
		eng := e.newEngine(t, Config{Schedule: []time.Duration{0}})
		start(t, eng)
		e.ingest(t, e.team, 1)
		eng.Wake()
		if d := e.settled(t, e.team, w, e.only(t, e.team, w).ID, 5*time.Second); d.Status != store.StatusSucceeded {
			t.Fatalf("delivery %s, want succeeded", d.Status)
		}
		reqs := rc.requests()
		if len(reqs) != 2 {
			t.Fatalf("%d requests, want 2", len(reqs))
		}
		first, second := reqs[0].header.Get(webhooksig.Header), reqs[1].header.Get(webhooksig.Header)
		if webhooksig.Verify(old, reqs[0].body, first) != nil {
			t.Error("attempt 1 not signed with the original secret")
		}
		if webhooksig.Verify(rotated, reqs[1].body, second) != nil {
			t.Error("attempt 2 not signed with the rotated secret")
		}
		if webhooksig.Verify(old, reqs[1].body, second) == nil {
			t.Error("attempt 2 still signed with the old secret")
		}
	})
}

// Disabling a webhook between attempts cancels the delivery: no more tries.
func TestDisableMidRetryStopsAttempts(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		var hook atomic.Pointer[store.Webhook] // set before any request arrives
		disabled := store.WebhookDisabled
		rc := newReceiver(t, func(rw http.ResponseWriter, _ *http.Request, _ int) {
			if err := st.UpdateWebhook(context.Background(), e.team.ID, hook.Load().ID, store.WebhookPatch{Status: &disabled}); err != nil {
				panic(err)
			}
			rw.WriteHeader(500)
		})
		w, _ := e.webhook(t, e.team, rc.URL())
		hook.Store(&w)
		eng := e.newEngine(t, Config{Schedule: []time.Duration{0, 50 * time.Millisecond, 50 * time.Millisecond}})
		start(t, eng)
		e.ingest(t, e.team, 1)
		eng.Wake()
		d := e.settled(t, e.team, w, e.only(t, e.team, w).ID, 5*time.Second)
		time.Sleep(300 * time.Millisecond) // retries would have been due by now
		d = e.settled(t, e.team, w, d.ID, time.Second)
		if d.Status != store.StatusCanceled {
			t.Fatalf("delivery %s, want canceled", d.Status)
		}
		if n := rc.count(); n != 1 {
			t.Fatalf("%d requests, want 1", n)
		}
		if len(d.Attempts) != 1 || deref(d.Attempts[0].StatusCode) != 500 {
			t.Fatalf("attempts = %+v, want the one made before the disable", d.Attempts)
		}
	})
}
