package main

import (
	"context"
	"net/http"
	"os"
	"testing"
	"time"
)

func needPostgres(t *testing.T) storeConfig {
	if os.Getenv("HOOKD_TEST_DATABASE_URL") == "" {
		t.Skip("HOOKD_TEST_DATABASE_URL is not set: PostgreSQL variant skipped")
	}
	return storeConfig{name: "postgres"}
}

// TestFaultPostgresTakeover: two processes serve one database; one is
// killed -9 with attempts in flight. The survivor takes its deliveries over
// within recoveryBound of the kill, measured to the first new request of
// each delivery the kill cut, and every delivery ends succeeded.
func TestFaultPostgresTakeover(t *testing.T) {
	e := newFaultEnv(t, needPostgres(t))
	g := newGate()
	e.rcv.handle("/held", g.behaviour)
	a := startHookd(t, e.serveArgs()...)
	b := startHookd(t, e.serveArgs()...)
	hookID := e.createWebhook(a, "held", e.rcv.url("/held"), "/held")
	// Events ingested through A are leased by A in the ingest transaction.
	ld := newLoader(e.team, func() string { return a.base })
	const events = 12
	for i := 0; i < events; i++ {
		if !ld.one() {
			t.Fatalf("ingest refused: %s", ld.refusals())
		}
	}
	waitFor(t, "every attempt in flight", 10*time.Second, func() bool { return e.rcv.count() == events })

	killAt := time.Now()
	a.kill9()
	// Let the receiver see A's connections close before letting B's
	// held requests (and everything after) through.
	time.Sleep(300 * time.Millisecond)
	g.release()
	waitFor(t, "every delivery", 3*recoveryBound, func() bool { return len(okTasks(e.rcv.snapshot())) == events })
	rs := e.rcv.snapshot()
	cut, resent := strandedAt(rs, killAt), resentAfter(rs, killAt)
	if len(cut) == 0 {
		t.Fatal("the killed process had no attempt in flight: the test proves nothing")
	}
	var worst time.Duration
	for d := range cut {
		took, ok := resent[d]
		if !ok {
			t.Fatalf("delivery %s, cut by the kill, was not sent again", d)
		}
		worst = max(worst, took)
	}
	if worst > recoveryBound {
		t.Errorf("the survivor took the killed process's deliveries over up to %v after the kill; the promise is %v", worst, recoveryBound)
	}
	if n := metric(t, b, "hookd_delivery_leases_taken_over_total", ""); n < float64(len(cut)) {
		t.Errorf("hookd_delivery_leases_taken_over_total = %v on the survivor, want at least %d", n, len(cut))
	}
	waitFor(t, "every delivery succeeded in the log", 10*time.Second, func() bool {
		return countDeliveries(t, b, e.token, e.team, hookID, "succeeded") == events
	})
	recordFigures(t, map[string]any{"store": "postgres", "cut_by_kill": len(cut), "worst_takeover_ms": ms(worst)})
	if err := b.stop(); err != nil {
		t.Fatal(err)
	}
}

// TestFaultPostgresSessionsTerminated terminates every PostgreSQL session
// of hookd (pool, LISTEN, owner lock) again and again for a while, under
// load, rounds times. hookd stays up; every accepted event is delivered
// within recoveryBound of the database answering again (or of its
// acceptance, if later); nothing is lost, and the log ends all succeeded.
func TestFaultPostgresSessionsTerminated(t *testing.T) {
	e := newFaultEnv(t, needPostgres(t))
	e.rcv.handle("/t", answer(http.StatusOK))
	h := startHookd(t, e.serveArgs("--log-level", "info")...)
	hookID := e.createWebhook(h, "terminated", e.rcv.url("/t"), "/t")
	ld := newLoader(e.team, func() string { return h.base })
	ctx, stopLoad := context.WithCancel(context.Background())
	// Single events from four senders, about 200 events/s.
	var waits []func()
	for i := 0; i < 4; i++ {
		waits = append(waits, ld.run(ctx, 20*time.Millisecond, func() { ld.one() }))
	}
	stop := func() {
		stopLoad()
		for _, w := range waits {
			w()
		}
	}

	rounds := shortOrFull(1, 10)
	terminated := 0
	var answersAgain []time.Time
	for r := 0; r < rounds; r++ {
		time.Sleep(time.Second)
		// Two seconds of sessions killed every 200 ms: ingest, lease
		// rounds, outcome writes and the owner lock all fail meanwhile.
		end := time.Now().Add(2 * time.Second)
		for time.Now().Before(end) {
			terminated += terminateBackends(t, e.appName)
			time.Sleep(200 * time.Millisecond)
		}
		answersAgain = append(answersAgain, time.Now())
		if !h.alive() {
			t.Fatalf("hookd exited after its sessions were terminated")
		}
	}
	time.Sleep(time.Second)
	stop()

	accepted := ld.acceptedTasks()
	waitFor(t, "every accepted event delivered", 30*time.Second, func() bool {
		return len(missing(accepted, e.rcv.snapshot())) == 0
	})
	// How long after the database answered again (or after its acceptance,
	// if later) each event reached the receiver.
	first := map[string]time.Time{}
	rs := e.rcv.snapshot()
	for _, rc := range rs {
		if _, ok := first[rc.task]; !ok || rc.at.Before(first[rc.task]) {
			first[rc.task] = rc.at
		}
	}
	var worst time.Duration
	for task, at := range accepted {
		from := at
		for _, a := range answersAgain {
			if a.After(from) && first[task].After(a) {
				from = a
			}
		}
		worst = max(worst, first[task].Sub(from))
	}
	if worst > recoveryBound {
		t.Errorf("an accepted event was delivered %v after the database answered again; the promise is %v", worst, recoveryBound)
	}
	if !h.alive() {
		t.Fatal("hookd exited")
	}
	var total int
	waitFor(t, "every delivery succeeded in the log", 30*time.Second, func() bool {
		total = countDeliveries(t, h, e.token, e.team, hookID, "")
		return countDeliveries(t, h, e.token, e.team, hookID, "succeeded") == total
	})
	if total < len(accepted) {
		t.Errorf("the log has %d deliveries for %d accepted events", total, len(accepted))
	}
	if bad := e.rcv.badSignatures(); bad != 0 {
		t.Errorf("%d bad signatures", bad)
	}
	if terminated == 0 {
		t.Fatal("no session of hookd was found to terminate: the test proves nothing")
	}
	distinct := map[string]bool{}
	for _, rc := range rs {
		distinct[rc.delivery] = true
	}
	recordFigures(t, map[string]any{"store": "postgres", "outages": rounds, "sessions_terminated": terminated,
		"events_accepted": len(accepted), "deliveries_in_log": total, "requests_received": len(rs), "resent": len(rs) - len(distinct),
		"worst_delivery_after_db_answers_ms": ms(worst), "ingest": ld.refusals(),
		"owner_identities_lost": metric(t, h, "hookd_delivery_owner_identities_lost_total", ""),
		"attempts_abandoned":    metric(t, h, "hookd_delivery_attempts_abandoned_total", ""),
		"max_rss_mib":           rssKiB(h.cmd.Process.Pid) / 1024})
	if err := h.stop(); err != nil {
		t.Fatalf("exit: %v", err)
	}
}
