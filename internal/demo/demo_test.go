package demo

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// runDemo runs the whole demo in a fresh parent directory and returns its
// output and the parent (which must be empty afterwards unless keep is set).
func runDemo(t *testing.T, o Options) (string, string, error) {
	t.Helper()
	parent := t.TempDir()
	var stdout, stderr bytes.Buffer
	o.Stdout, o.Stderr, o.TempDir = &stdout, &stderr, parent
	err := Run(context.Background(), o)
	if stderr.Len() > 0 {
		t.Logf("stderr:\n%s", stderr.String())
	}
	return stdout.String(), parent, err
}

func assertEmptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("left behind in %s: %s", dir, e.Name())
	}
}

// section returns the part of out from the heading title to the next
// heading (a line followed by a line of dashes).
func section(t *testing.T, out, title string) string {
	t.Helper()
	start := strings.Index(out, "\n"+title+"\n")
	if start < 0 {
		t.Fatalf("no section %q in:\n%s", title, out)
	}
	rest := out[start+len(title)+2:]
	rest = rest[strings.Index(rest, "\n")+1:] // skip the underline
	if next := regexp.MustCompile(`\n[^\s][^\n]*\n-+\n`).FindStringIndex(rest); next != nil {
		rest = rest[:next[0]]
	}
	return rest
}

func TestRunShowsTheWholeLoop(t *testing.T) {
	defer goleak.VerifyNone(t)
	out, parent, err := runDemo(t, Options{})
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out)
	}
	assertEmptyDir(t, parent)

	// 2 deliveries of one attempt to "steady", 1 of three attempts to "flaky".
	if !strings.Contains(out, "What the receiver saw (5 requests") {
		t.Errorf("expected 5 requests at the receiver:\n%s", out)
	}
	if n := strings.Count(out, "signature: verified"); n != 5 {
		t.Errorf("%d verified signatures, want 5:\n%s", n, out)
	}
	if strings.Contains(out, "INVALID") || strings.Contains(out, "DIFFERENT") || strings.Contains(out, "MISMATCH") {
		t.Errorf("a check failed:\n%s", out)
	}
	for _, h := range shownHeaders {
		if n := strings.Count(out, "    "+h+" "); n != 5 {
			t.Errorf("header %s printed %d times, want once per request", h, n)
		}
	}
	if !strings.Contains(out, `"task_status":"failed","task_output":null,"task_error":"out of memory"`) {
		t.Errorf("the failed task's body is not as SPEC §5 says:\n%s", out)
	}
	if !regexp.MustCompile(`User-Agent\s+hookd/\S+`).MatchString(out) {
		t.Errorf("no User-Agent hookd/<version>:\n%s", out)
	}

	flaky := section(t, out, `Delivery log of "flaky"`)
	if !strings.Contains(flaky, "delivery_status succeeded, attempt_count 3") {
		t.Errorf("the flaky delivery did not succeed on its third attempt:\n%s", flaky)
	}
	attempts := regexp.MustCompile(`(?m)^\s+(\d)\s+\S+Z\s+(\d+)\s`).FindAllStringSubmatch(flaky, -1)
	var got []string
	for _, a := range attempts {
		got = append(got, a[1]+":"+a[2])
	}
	if strings.Join(got, " ") != "1:503 2:503 3:200" {
		t.Errorf("flaky attempts = %v, want 1:503 2:503 3:200:\n%s", got, flaky)
	}
	if !strings.Contains(flaky, "the same as the receiver got (3 requests)") {
		t.Errorf("the flaky delivery's request_body was not matched against 3 requests:\n%s", flaky)
	}

	steady := section(t, out, `Delivery log of "steady"`)
	if n := strings.Count(steady, "delivery_status succeeded, attempt_count 1"); n != 2 {
		t.Errorf("steady: %d deliveries succeeded at once, want 2:\n%s", n, steady)
	}
	if !strings.Contains(steady, "task.completed") || !strings.Contains(steady, "task.failed") {
		t.Errorf("steady should have one delivery of each event type:\n%s", steady)
	}
	if !strings.Contains(out, "hookd stopped cleanly.") {
		t.Errorf("no clean stop reported:\n%s", out)
	}
}

func TestRunKeepLeavesTheDirectoryAndSaysWhere(t *testing.T) {
	out, parent, err := runDemo(t, Options{Keep: true})
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out)
	}
	entries, err := os.ReadDir(parent)
	if err != nil || len(entries) != 1 {
		t.Fatalf("want exactly one kept directory in %s, got %v (%v)", parent, entries, err)
	}
	dir := filepath.Join(parent, entries[0].Name())
	if !strings.Contains(out, "Kept "+dir) {
		t.Errorf("the kept directory %s is not printed:\n%s", dir, out)
	}
	for _, name := range []string{"hookd.db", "master.key", "jwt-secret", caFileName} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("kept directory lacks %s: %v", name, err)
		}
	}
}

func TestRunOutOfTimeFailsCleanly(t *testing.T) {
	out, parent, err := runDemo(t, Options{Timeout: time.Nanosecond})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("Run with a 1ns timeout = %v, want ErrTimeout\n%s", err, out)
	}
	if !strings.Contains(err.Error(), "1ns (--timeout)") {
		t.Errorf("the error does not name the timeout: %v", err)
	}
	assertEmptyDir(t, parent)
}

func TestRunRejectsNegativeTimeout(t *testing.T) {
	if err := Run(context.Background(), Options{Timeout: -time.Second}); err == nil {
		t.Fatal("a negative timeout was accepted")
	}
}

func TestServeConfigIgnoresTheEnvironment(t *testing.T) {
	t.Setenv("HOOKD_DATABASE", "postgres://somewhere-real/prod")
	t.Setenv("HOOKD_RETRY_SCHEDULE", "1h")
	cfg, err := serveConfig(serveArgs("/tmp/x", "/tmp/x/ca.pem", "tok"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Database != "" || cfg.RetrySchedule != RetrySchedule || cfg.DataDir != "/tmp/x" || cfg.IngestToken != "tok" {
		t.Errorf("config = %+v", cfg)
	}
	if len(cfg.AllowCIDR) != 1 || cfg.AllowCIDR[0] != "127.0.0.0/8" || cfg.CAFile != "/tmp/x/ca.pem" {
		t.Errorf("network settings = %v %q", cfg.AllowCIDR, cfg.CAFile)
	}
	if cfg.Workers != 256 || cfg.Retention != 720*time.Hour {
		t.Errorf("other settings lost their defaults: %+v", cfg)
	}
}

func TestVerdict(t *testing.T) {
	stopErr := errors.New("boom")
	if err := verdict(0, 5, nil); err != nil {
		t.Errorf("all verified, clean stop: %v", err)
	}
	if err := verdict(1, 5, nil); !errors.Is(err, ErrInvalidSignature) || !strings.Contains(err.Error(), "1 of 5") {
		t.Errorf("one invalid: %v", err)
	}
	if err := verdict(0, 5, stopErr); !errors.Is(err, stopErr) {
		t.Errorf("unclean stop: %v", err)
	}
	if err := verdict(2, 5, stopErr); !errors.Is(err, ErrInvalidSignature) || !errors.Is(err, stopErr) {
		t.Errorf("both: %v", err)
	}
}
