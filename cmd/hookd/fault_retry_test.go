package main

import (
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestFaultRetryAfter: with the default schedule (first retry at once), a
// 429 with Retry-After: 3 is retried no sooner than 3 s later; the attempt
// count is that of the schedule, and the success shows as the last attempt.
func TestFaultRetryAfter(t *testing.T) {
	for _, sc := range storeConfigs(t) {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			e := newFaultEnv(t, sc)
			var mu sync.Mutex
			seen := map[string]bool{}
			e.rcv.handle("/ra", func(w http.ResponseWriter, r *http.Request) int {
				mu.Lock()
				first := !seen[r.Header.Get("X-Webhook-Delivery")]
				seen[r.Header.Get("X-Webhook-Delivery")] = true
				mu.Unlock()
				if first {
					w.Header().Set("Retry-After", "3")
					w.WriteHeader(http.StatusTooManyRequests)
					return http.StatusTooManyRequests
				}
				w.WriteHeader(http.StatusOK)
				return http.StatusOK
			})
			h := startHookd(t, e.serveArgs()...) // the default schedule: 0s,5s,30s,2m
			hookID := e.createWebhook(h, "retry-after", e.rcv.url("/ra"), "/ra")
			ld := newLoader(e.team, func() string { return h.base })
			if !ld.one() {
				t.Fatalf("ingest refused: %s", ld.refusals())
			}
			waitFor(t, "the retry", 10*time.Second, func() bool { return len(okTasks(e.rcv.snapshot())) == 1 })
			rs := onPath(e.rcv.snapshot(), "/ra")
			if len(rs) != 2 || rs[0].status != 429 || rs[1].status != 200 {
				t.Fatalf("want a 429 then a 200, got %+v", rs)
			}
			gap := rs[1].at.Sub(rs[0].at)
			if gap < 3*time.Second {
				t.Errorf("retried %v after a 429 with Retry-After: 3", gap)
			}
			var d map[string]any
			waitFor(t, "the success in the log", 5*time.Second, func() bool {
				list := listDeliveries(t, h, e.token, e.team, hookID)
				if len(list) != 1 || list[0]["delivery_status"] != "succeeded" {
					return false
				}
				_, d = call(t, "GET", h.base+"/api/v1/webhooks/"+hookID+"/deliveries/"+list[0]["id"].(string), e.token, e.team, nil)
				return true
			})
			attempts := d["attempts"].([]any)
			if d["attempt_count"].(float64) != 2 || len(attempts) != 2 ||
				attempts[0].(map[string]any)["status_code"].(float64) != 429 || attempts[1].(map[string]any)["status_code"].(float64) != 200 {
				t.Errorf("delivery detail after a 429 then a 200: %v", d)
			}
			recordFigures(t, map[string]any{"store": sc.name, "retry_after_gap_ms": ms(gap)})
		})
	}
}

// TestFaultOutageThenRecover: a receiver down for longer than the retry
// schedule leaves its deliveries failed; once it is back, one recover call
// over the API delivers each of them exactly once, and calling again
// recovers nothing more.
func TestFaultOutageThenRecover(t *testing.T) {
	for _, sc := range storeConfigs(t) {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			e := newFaultEnv(t, sc)
			var down atomic.Bool
			down.Store(true)
			e.rcv.handle("/out", func(w http.ResponseWriter, _ *http.Request) int {
				if down.Load() {
					w.WriteHeader(http.StatusServiceUnavailable)
					return http.StatusServiceUnavailable
				}
				w.WriteHeader(http.StatusOK)
				return http.StatusOK
			})
			since := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
			h := startHookd(t, e.serveArgs("--retry-schedule", "0s,1s")...)
			hookID := e.createWebhook(h, "outage", e.rcv.url("/out"), "/out")
			ld := newLoader(e.team, func() string { return h.base })
			events := shortOrFull(20, 500)
			for ingested := 0; ingested < events; ingested += 50 {
				ld.batch(min(50, events-ingested))
			}
			if n := len(ld.acceptedTasks()); n != events {
				t.Fatalf("%d of %d events accepted: %s", n, events, ld.refusals())
			}
			waitFor(t, "every delivery failed", 30*time.Second, func() bool {
				return countDeliveries(t, h, e.token, e.team, hookID, "failed") == events
			})
			if n := len(okTasks(e.rcv.snapshot())); n != 0 {
				t.Fatalf("%d deliveries succeeded during the outage", n)
			}
			if got, want := e.rcv.count(), 3*events; got != want {
				t.Errorf("%d requests during the outage, want %d (three attempts each)", got, want)
			}

			down.Store(false)
			url := h.base + "/api/v1/webhooks/" + hookID + "/deliveries/recover"
			code, res := call(t, "POST", url, e.token, e.team, map[string]any{"since": since})
			if code != http.StatusAccepted || res["recovered_count"] != float64(events) {
				t.Fatalf("recover: %d %v, want 202 with recovered_count %d", code, res, events)
			}
			start := time.Now()
			waitFor(t, "every failed delivery delivered", 30*time.Second, func() bool {
				return len(okTasks(e.rcv.snapshot())) == events
			})
			took := time.Since(start)
			code, res = call(t, "POST", url, e.token, e.team, map[string]any{"since": since})
			if code != http.StatusAccepted || res["recovered_count"] != float64(0) {
				t.Fatalf("second recover: %d %v, want 202 with recovered_count 0", code, res)
			}
			waitFor(t, "the redeliveries succeeded in the log", 10*time.Second, func() bool {
				return countDeliveries(t, h, e.token, e.team, hookID, "succeeded") == events
			})
			time.Sleep(1500 * time.Millisecond) // room for a wrong second redelivery
			for task, n := range okTasks(e.rcv.snapshot()) {
				if n != 1 {
					t.Errorf("task %s delivered %d times after the recovery, want once", task, n)
				}
			}
			if n := countDeliveries(t, h, e.token, e.team, hookID, ""); n != 2*events {
				t.Errorf("%d deliveries in the log, want %d failed and %d redeliveries", n, events, events)
			}
			if bad := e.rcv.badSignatures(); bad != 0 {
				t.Errorf("%d bad signatures", bad)
			}
			recordFigures(t, map[string]any{"store": sc.name, "failed_then_recovered": events, "all_delivered_after_ms": ms(took)})
		})
	}
}
