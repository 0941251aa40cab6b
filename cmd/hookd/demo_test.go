package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestDemoCommand runs `hookd demo` in-process as a fresh clone would: no
// server running, nothing configured. HOOKD_DATABASE is set to prove the demo
// ignores a real deployment's environment.
func TestDemoCommand(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	t.Setenv("HOOKD_DATABASE", "postgres://127.0.0.1:1/not-for-the-demo")
	var stdout, stderr bytes.Buffer
	if err := demo(context.Background(), nil, &stdout, &stderr); err != nil {
		t.Fatalf("hookd demo: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	out := stdout.String()

	requests := regexp.MustCompile(`(?m)^  #\d+ `).FindAllString(out, -1)
	if len(requests) != 5 {
		t.Errorf("the receiver saw %d requests, want 5 (2 to steady, 3 to flaky):\n%s", len(requests), out)
	}
	if n := strings.Count(out, "signature: verified"); n != len(requests) || strings.Contains(out, "INVALID") {
		t.Errorf("%d verified signatures for %d requests:\n%s", n, len(requests), out)
	}
	if !strings.Contains(out, `"task_status":"failed","task_output":null`) {
		t.Errorf(`the failed task's body lacks "task_output":null:`+"\n%s", out)
	}
	flaky := out[strings.Index(out, `Delivery log of "flaky"`):]
	if !strings.Contains(flaky, "delivery_status succeeded, attempt_count 3") {
		t.Errorf("the flaky delivery did not succeed in 3 attempts:\n%s", flaky)
	}
	if !regexp.MustCompile(`(?s)\n\s+1\s+\S+\s+503\s.*\n\s+2\s+\S+\s+503\s.*\n\s+3\s+\S+\s+2\d\d\s`).MatchString(flaky) {
		t.Errorf("the flaky delivery's attempts are not 503, 503, 2xx:\n%s", flaky)
	}
	if !strings.Contains(out, "hookd stopped cleanly.") {
		t.Errorf("no clean stop:\n%s", out)
	}
	entries, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("hookd demo left %s behind in the temporary directory", e.Name())
	}
}

func TestDemoFlags(t *testing.T) {
	for _, args := range [][]string{{"--timeout", "0s"}, {"--timeout", "-1s"}, {"extra"}, {"--no-such-flag"}} {
		var stderr bytes.Buffer
		err := demo(context.Background(), args, &bytes.Buffer{}, &stderr)
		if !errors.Is(err, errUsage) {
			t.Errorf("hookd demo %v = %v, want a usage error", args, err)
		}
	}
	var stderr bytes.Buffer
	if err := demo(context.Background(), []string{"-h"}, &bytes.Buffer{}, &stderr); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("hookd demo -h = %v, want flag.ErrHelp", err)
	}
	if !strings.Contains(stderr.String(), "--keep") || !strings.Contains(stderr.String(), "--timeout") {
		t.Errorf("help does not list the flags:\n%s", stderr.String())
	}
}
