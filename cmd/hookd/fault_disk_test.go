package main

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFaultDiskFull runs hookd on SQLite in a 16 MiB tmpfs and fills it
// under load. While the disk is full ingest answers 5xx (never a 202 that
// is then lost, never a panic) and hookd stays up; once space is freed,
// ingest is accepted again without a restart and everything accepted before,
// during and after is delivered. Mounting needs root: elsewhere the test is
// skipped with a message.
func TestFaultDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("disk-full test skipped: mounting a small tmpfs as the data directory needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("disk-full test skipped: cannot mount a tmpfs (%v: %s)", err, strings.TrimSpace(string(out)))
	}
	// Registered after TempDir: runs before its removal, after hookd is
	// killed (hookd's cleanup is registered later still).
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	e := newFaultEnv(t, storeConfig{name: "sqlite"}, "--data-dir", dir)
	// Answers take 100 ms, so that attempts are in flight when the disk
	// fills and their outcomes must be written on a full disk.
	e.rcv.handle("/d", answerAfter(func() time.Duration { return 100 * time.Millisecond }))
	h := startHookd(t, e.serveArgs("--log-level", "info")...)
	hookID := e.createWebhook(h, "disk", e.rcv.url("/d"), "/d")
	ld := newLoader(e.team, func() string { return h.base })
	ctx, stopLoad := context.WithCancel(context.Background())
	var waits []func()
	waits = append(waits, ld.run(ctx, 20*time.Millisecond, func() { ld.one() }))
	waits = append(waits, ld.run(ctx, 100*time.Millisecond, func() { ld.batch(20) }))
	stop := func() {
		stopLoad()
		for _, w := range waits {
			w()
		}
	}
	time.Sleep(500 * time.Millisecond)

	// Fill the disk.
	filler := filepath.Join(dir, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling the disk: %v", err)
			}
			break
		}
	}
	f.Close()
	fullAt := time.Now()
	// hookd's own writes may still find a few free pages: keep filling
	// what they free for the duration of the full period.
	refusedBefore := ld.refusals()
	var refusedFull string
	deadline := fullAt.Add(shortOrFull(3*time.Second, 20*time.Second))
	for time.Now().Before(deadline) {
		if g, err := os.OpenFile(filler, os.O_APPEND|os.O_WRONLY, 0); err == nil {
			for {
				if _, err := g.Write(chunk[:4096]); err != nil {
					break
				}
			}
			g.Close()
		}
		time.Sleep(100 * time.Millisecond)
	}
	refusedFull = ld.refusals()
	// What a client is told: a 500 without internal detail.
	_, ev := ld.event()
	code, body, err := ld.post("/internal/v1/task-events", ev)
	if err != nil || code != http.StatusInternalServerError || strings.Contains(strings.ToLower(string(body)), "sqlite") ||
		strings.Contains(strings.ToLower(string(body)), "disk") {
		t.Errorf("ingest on a full disk answered %d %s (%v); want a 500 without internal detail", code, body, err)
	}
	if !h.alive() {
		t.Fatalf("hookd exited on a full disk")
	}
	acceptedFull := len(ld.acceptedTasks())

	// Free the space: ingest is accepted again, without a restart.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	freedAt := time.Now()
	waitFor(t, "ingest accepted again after space was freed", 10*time.Second, func() bool { return ld.one() })
	time.Sleep(time.Second)
	stop()

	accepted := ld.acceptedTasks()
	waitFor(t, "every accepted event delivered", 30*time.Second, func() bool {
		return len(missing(accepted, e.rcv.snapshot())) == 0
	})
	total := e.waitLogSucceeded(t, h, hookID, len(accepted))
	ld.mu.Lock()
	refused := map[int]int{}
	for code, n := range ld.refused {
		refused[code] = n
	}
	ld.mu.Unlock()
	for code, n := range refused {
		if code < 500 {
			t.Errorf("%d ingest answers with status %d while the disk was full: want 5xx", n, code)
		}
	}
	if len(refused) == 0 {
		t.Errorf("no ingest was refused while the disk was full (%d accepted): the test did not fill the disk", acceptedFull)
	}
	if logs := h.logText(); strings.Contains(logs, "panic") {
		t.Errorf("hookd logged a panic:\n%s", logs)
	}
	rs := e.rcv.snapshot()
	recordFigures(t, map[string]any{"store": "sqlite", "full_for_s": freedAt.Sub(fullAt).Seconds(),
		"events_accepted": len(accepted), "deliveries_in_log": total, "requests_received": len(rs),
		"ingest_before_full": refusedBefore, "ingest_while_full": refusedFull, "ingest_overall": ld.refusals(),
		"outcome_writes_failed": metric(t, h, "hookd_delivery_record_failures_total", "")})
	if err := h.stop(); err != nil {
		t.Fatalf("exit: %v", err)
	}
}
