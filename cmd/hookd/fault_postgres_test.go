package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
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
	hookID := e.createWebhook(a, "held", e.rcv.url("/held"), "/held")
	ld := newLoader(e.team, func() string { return a.base })
	const events = 12
	for i := 0; i < events; i++ {
		if !ld.one() {
			t.Fatalf("ingest refused: %s", ld.refusals())
		}
	}
	waitFor(t, "every attempt in flight", 10*time.Second, func() bool { return e.rcv.count() == events })
	// Every attempt is A's; B joins, then A dies.
	b := startHookd(t, e.serveArgs()...)

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
	worst := worstResend(t, cut, resent)
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

	// The sessions to terminate include the LISTEN one and the owner lock's.
	waitFor(t, "hookd's pool, LISTEN and owner-lock sessions", 5*time.Second, func() bool {
		all, listening, locking := hookdSessions(t, e.appName)
		return all >= 3 && listening >= 1 && locking >= 1
	})
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
	rs, worst := e.deliveredAfterOutages(t, accepted, answersAgain)
	if !h.alive() {
		t.Fatal("hookd exited")
	}
	total := e.waitLogSucceeded(t, h, hookID, len(accepted))
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

// tcpProxy forwards loopback connections to PostgreSQL; cut makes the
// database unreachable (open connections broken, new ones refused) until
// restore.
type tcpProxy struct {
	t      *testing.T
	addr   string
	target string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
}

func startProxy(t *testing.T, target string) *tcpProxy {
	p := &tcpProxy{t: t, target: target, conns: map[net.Conn]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.cut)
	return p
}

func (p *tcpProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[up] = true, true
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close(); c.Close() }()
			go func() { _, _ = io.Copy(c, up); up.Close(); c.Close() }()
		}
	}()
}

func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]bool{}
}

func (p *tcpProxy) restore() {
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ { // the port was just closed: rebinding may need a moment
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatalf("restoring the proxy: %v", err)
	}
	p.serve(ln)
}

// TestFaultPostgresUnreachable makes PostgreSQL unreachable for 3 s under
// load (every connection of hookd broken and new ones refused: longer than
// the 1.5 s in which a process tries to take its owner lock back), rounds
// times. hookd stays up, gives its lost identity up and registers anew;
// every accepted event is delivered within recoveryBound of the database
// answering again, and the log ends all succeeded.
func TestFaultPostgresUnreachable(t *testing.T) {
	sc := needPostgres(t)
	storeArgs := sc.resolve(t)
	var proxy *tcpProxy
	for i := range storeArgs {
		if i > 0 && storeArgs[i-1] == "--database" {
			u, err := url.Parse(storeArgs[i])
			if err != nil {
				t.Fatal(err)
			}
			proxy = startProxy(t, u.Host)
			u.Host = proxy.addr
			storeArgs[i] = u.String()
		}
	}
	e := newFaultEnv(t, sc, storeArgs...)
	e.rcv.handle("/u", answerAfter(func() time.Duration { return 20 * time.Millisecond }))
	h := startHookd(t, e.serveArgs("--log-level", "info")...)
	hookID := e.createWebhook(h, "unreachable", e.rcv.url("/u"), "/u")
	ld := newLoader(e.team, func() string { return h.base })
	ctx, stopLoad := context.WithCancel(context.Background())
	var waits []func()
	for i := 0; i < 4; i++ {
		waits = append(waits, ld.run(ctx, 20*time.Millisecond, func() { ld.one() }))
	}

	rounds := shortOrFull(1, 5)
	var answersAgain []time.Time
	for r := 0; r < rounds; r++ {
		time.Sleep(2 * time.Second)
		proxy.cut()
		time.Sleep(3 * time.Second)
		proxy.restore()
		answersAgain = append(answersAgain, time.Now())
		if !h.alive() {
			t.Fatalf("hookd exited while the database was unreachable")
		}
	}
	time.Sleep(time.Second)
	stopLoad()
	for _, w := range waits {
		w()
	}

	accepted := ld.acceptedTasks()
	rs, worst := e.deliveredAfterOutages(t, accepted, answersAgain)
	total := e.waitLogSucceeded(t, h, hookID, len(accepted))
	lost := metric(t, h, "hookd_delivery_owner_identities_lost_total", "")
	if lost < float64(rounds) {
		t.Errorf("hookd_delivery_owner_identities_lost_total = %v after %d outages longer than the fence", lost, rounds)
	}
	if bad := e.rcv.badSignatures(); bad != 0 {
		t.Errorf("%d bad signatures", bad)
	}
	distinct := map[string]bool{}
	for _, rc := range rs {
		distinct[rc.delivery] = true
	}
	recordFigures(t, map[string]any{"store": "postgres", "outages": rounds, "outage_s": 3,
		"events_accepted": len(accepted), "deliveries_in_log": total, "requests_received": len(rs), "resent": len(rs) - len(distinct),
		"worst_delivery_after_db_answers_ms": ms(worst), "ingest": ld.refusals(), "owner_identities_lost": lost,
		"attempts_abandoned": metric(t, h, "hookd_delivery_attempts_abandoned_total", ""),
		"max_rss_mib":        rssKiB(h.cmd.Process.Pid) / 1024})
	if err := h.stop(); err != nil {
		t.Fatalf("exit: %v", err)
	}
}

// deliveredAfterOutages waits until every accepted event reached the
// receiver and checks the promise: each was delivered within
// recoveryBound of the database answering again (the last of answersAgain
// before its first successful receipt), or of its acceptance if that came
// later. It returns the receipts and the worst such time.
func (e *faultEnv) deliveredAfterOutages(t *testing.T, accepted map[string]time.Time, answersAgain []time.Time) ([]receipt, time.Duration) {
	t.Helper()
	waitFor(t, "every accepted event delivered", 30*time.Second, func() bool {
		return len(missing(accepted, e.rcv.snapshot())) == 0
	})
	rs := e.rcv.snapshot()
	first := map[string]time.Time{}
	for _, rc := range rs {
		if rc.status == http.StatusOK {
			if at, ok := first[rc.task]; !ok || rc.at.Before(at) {
				first[rc.task] = rc.at
			}
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
	return rs, worst
}
