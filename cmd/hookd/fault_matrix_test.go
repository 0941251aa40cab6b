package main

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// fault is one receiver misbehaviour and what the delivery log must say of
// it, with --retry-schedule 0s,1s (three attempts: retries 0 s and 1 s after
// a failure) and --delivery-timeout 2s.
type fault struct {
	path      string
	do        behaviour
	succeeded bool             // the delivery ends succeeded after one attempt
	status    int              // the attempts' status code (0: none)
	errText   string           // every attempt's error (and the delivery's last_error)
	gaps      [2]time.Duration // the least time before each of the two retries
	maxGap    time.Duration    // the most (0: no upper bound checked)
}

// TestFaultReceiverMatrix points one webhook at each receiver fault, and one
// at a healthy endpoint, and ingests events to all of them. Each fault gives
// the right status and error in the delivery log, is retried as the schedule
// says (Retry-After capped by the schedule), a 50 MB answer is read only up
// to 4 KiB with hookd's memory flat, and the hung endpoints (whose lanes are
// full) never delay the healthy webhook's deliveries.
func TestFaultReceiverMatrix(t *testing.T) {
	for _, sc := range storeConfigs(t) {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			e := newFaultEnv(t, sc)
			untrusted := untrustedServer(t)
			faults := []fault{
				{path: "/500", do: answer(500), status: 500, errText: "HTTP 500", gaps: [2]time.Duration{0, time.Second}},
				// Retry-After 3 s: both waits become the schedule's longest (1 s).
				{path: "/429", do: answer(429, "Retry-After", "3"), status: 429, errText: "HTTP 429",
					gaps: [2]time.Duration{time.Second, time.Second}, maxGap: 2500 * time.Millisecond},
				{path: "/301", do: answer(301, "Location", e.rcv.url("/moved")), status: 301, errText: "redirect not followed (HTTP 301)", gaps: [2]time.Duration{0, time.Second}},
				{path: "/hang", do: hang, errText: "timeout after 2s", gaps: [2]time.Duration{2 * time.Second, 3 * time.Second}},
				{path: "/trickle", do: trickleHeaders, errText: "timeout after 2s", gaps: [2]time.Duration{2 * time.Second, 3 * time.Second}},
				{path: "/reset", do: resetConn, errText: "connection reset", gaps: [2]time.Duration{0, time.Second}},
				{path: "/big", do: hugeBody(50 << 20), succeeded: true, status: 200},
			}
			e.rcv.handle("/ok", answer(http.StatusOK))
			e.rcv.handle("/moved", answer(http.StatusOK))
			// Two attempts per webhook at a time: four events fill the lanes
			// of the hung endpoints twice over.
			h := startHookd(t, e.serveArgs("--retry-schedule", "0s,1s", "--delivery-timeout", "2s", "--webhook-concurrency", "2")...)
			ids := map[string]string{}
			for _, f := range faults {
				e.rcv.handle(f.path, f.do)
				ids[f.path] = e.createWebhook(h, f.path, e.rcv.url(f.path), f.path)
			}
			okID := e.createWebhook(h, "ok", e.rcv.url("/ok"), "/ok")
			untrustedID := e.createWebhook(h, "untrusted", untrusted.URL+"/x", "")
			rssBefore := rssKiB(h.cmd.Process.Pid)

			const events = 4
			ld := newLoader(e.team, func() string { return h.base })
			for i := 0; i < events; i++ {
				if !ld.one() {
					t.Fatalf("ingest refused: %s", ld.refusals())
				}
			}
			accepted := ld.acceptedTasks()

			// The healthy webhook is served at once although the hung
			// endpoints hold their lanes.
			waitFor(t, "the healthy webhook's deliveries", 3*time.Second, func() bool {
				return len(okTasks(onPath(e.rcv.snapshot(), "/ok"))) == events
			})
			var worstOK time.Duration
			for _, rc := range onPath(e.rcv.snapshot(), "/ok") {
				worstOK = max(worstOK, rc.at.Sub(accepted[rc.task]))
			}
			if worstOK > time.Second {
				t.Errorf("the healthy webhook's deliveries took up to %v while other endpoints hung", worstOK)
			}

			all := append([]string{okID, untrustedID}, mapValues(ids)...)
			waitFor(t, "every delivery settled", 30*time.Second, func() bool {
				for _, id := range all {
					if countDeliveries(t, h, e.token, e.team, id, "pending") != 0 {
						return false
					}
				}
				return true
			})
			rs := e.rcv.snapshot()
			for _, f := range faults {
				checkFault(t, h, e, ids[f.path], f, onPath(rs, f.path), events)
			}
			checkFault(t, h, e, untrustedID, fault{path: "untrusted", errText: "tls: certificate signed by unknown authority"}, nil, events)
			if n := len(onPath(rs, "/moved")); n != 0 {
				t.Errorf("the redirect was followed %d times", n)
			}
			if bad := e.rcv.badSignatures(); bad != 0 {
				t.Errorf("%d bad signatures", bad)
			}
			for class, want := range map[string]float64{"succeeded": 2 * events, "http_status": 6 * events, "redirect": 3 * events,
				"timeout": 6 * events, "connection": 3 * events, "tls": 3 * events} {
				if got := metric(t, h, "hookd_delivery_attempts_total", `outcome="`+class+`"`); got != want {
					t.Errorf("hookd_delivery_attempts_total{outcome=%q} = %v, want %v", class, got, want)
				}
			}
			// 50 MB answers cost nothing: hookd reads 4 KiB of each.
			rssAfter := rssKiB(h.cmd.Process.Pid)
			if rssAfter-rssBefore > 16<<10 {
				t.Errorf("hookd's RSS grew from %d KiB to %d KiB over %d 50 MB answers", rssBefore, rssAfter, events)
			}
			recordFigures(t, map[string]any{"store": sc.name, "healthy_worst_ms": ms(worstOK),
				"rss_before_kib": rssBefore, "rss_after_kib": rssAfter})
			if err := h.stop(); err != nil {
				t.Fatalf("exit: %v", err)
			}
		})
	}
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// checkFault checks one fault webhook's deliveries in the log, and the
// spacing of their requests at the receiver.
func checkFault(t *testing.T, h *hookd, e *faultEnv, hookID string, f fault, rs []receipt, events int) {
	t.Helper()
	list := listDeliveries(t, h, e.token, e.team, hookID)
	if len(list) != events {
		t.Errorf("%s: %d deliveries in the log, want %d", f.path, len(list), events)
		return
	}
	wantAttempts, wantStatus := 3, "failed"
	if f.succeeded {
		wantAttempts, wantStatus = 1, "succeeded"
	}
	for i, d := range list {
		if d["delivery_status"] != wantStatus || int(d["attempt_count"].(float64)) != wantAttempts {
			t.Errorf("%s: delivery %s is %v after %v attempts, want %s after %d", f.path, d["id"], d["delivery_status"], d["attempt_count"], wantStatus, wantAttempts)
		}
		if i > 0 {
			continue // the details of one delivery per fault suffice
		}
		code, detail := call(t, "GET", h.base+"/api/v1/webhooks/"+hookID+"/deliveries/"+d["id"].(string), e.token, e.team, nil)
		if code != 200 {
			t.Fatalf("%s: delivery detail: %d %v", f.path, code, detail)
		}
		attempts := detail["attempts"].([]any)
		if len(attempts) != wantAttempts {
			t.Errorf("%s: %d attempts in the detail, want %d: %v", f.path, len(attempts), wantAttempts, detail)
			continue
		}
		for _, a := range attempts {
			a := a.(map[string]any)
			status, _ := a["status_code"].(float64)
			errText, _ := a["error"].(string)
			if int(status) != f.status || errText != f.errText {
				t.Errorf("%s: attempt %v has status %v and error %q, want %d and %q", f.path, a["attempt_number"], a["status_code"], errText, f.status, f.errText)
			}
			if f.path == "/big" && len(a["response_body"].(string)) != 4096 {
				t.Errorf("/big: %d bytes of the answer stored, want the first 4096", len(a["response_body"].(string)))
			}
		}
		if !f.succeeded && (detail["last_error"] != f.errText) {
			t.Errorf("%s: last_error %v, want %q", f.path, detail["last_error"], f.errText)
		}
	}
	if f.path == "untrusted" {
		return
	}
	byID := map[string][]receipt{}
	for _, rc := range rs {
		byID[rc.delivery] = append(byID[rc.delivery], rc)
	}
	if len(byID) != events {
		t.Errorf("%s: %d deliveries reached the receiver, want %d", f.path, len(byID), events)
	}
	for id, got := range byID {
		if len(got) != wantAttempts {
			t.Errorf("%s: delivery %s reached the receiver %d times, want %d", f.path, id, len(got), wantAttempts)
			continue
		}
		for i := 1; i < len(got) && wantAttempts == 3; i++ {
			gap := got[i].at.Sub(got[i-1].at)
			if gap < f.gaps[i-1] || (f.maxGap > 0 && gap > f.maxGap) {
				t.Errorf("%s: retry %d came %v after the attempt before, want at least %v%s", f.path, i, gap.Round(time.Millisecond), f.gaps[i-1],
					strings.TrimSuffix(" and at most "+f.maxGap.String(), " and at most 0s"))
			}
		}
	}
}
