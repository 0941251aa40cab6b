package config

import (
	"errors"
	"flag"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func parse(t *testing.T, args []string, env map[string]string) (*Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c := Register(fs, true)
	err := Parse(fs, args, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	return c, err
}

func TestDefaultsMatchTheSpec(t *testing.T) {
	c, err := parse(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{Addr: "127.0.0.1:8080", DataDir: "./hookd-data", RetrySchedule: "0s,5s,30s,2m",
		DeliveryTimeout: 10 * time.Second, Retention: 720 * time.Hour, WebhookConcurrency: 16, Workers: 256, LogLevel: "info"}
	if d := cmp.Diff(want, c); d != "" {
		t.Fatalf("defaults (-want +got):\n%s", d)
	}
}

func TestEnvironmentAndFlags(t *testing.T) {
	env := map[string]string{
		"HOOKD_ADDR":                "0.0.0.0:9000",
		"HOOKD_WORKERS":             "8",
		"HOOKD_ALLOW_CIDR":          "127.0.0.0/8, ::1/128",
		"HOOKD_RETRY_SCHEDULE":      "",
		"HOOKD_DELIVERY_TIMEOUT":    "3s",
		"HOOKD_WEBHOOK_CONCURRENCY": "4",
	}
	c, err := parse(t, []string{"--workers", "9", "--allow-cidr", "10.0.0.0/8"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "0.0.0.0:9000" || c.DeliveryTimeout != 3*time.Second || c.WebhookConcurrency != 4 {
		t.Fatalf("environment not applied: %+v", c)
	}
	if c.Workers != 9 {
		t.Fatalf("a flag must override its variable: workers=%d", c.Workers)
	}
	if d := cmp.Diff(ListFlag{"10.0.0.0/8"}, c.AllowCIDR); d != "" {
		t.Fatalf("flag --allow-cidr overrides the variable (-want +got):\n%s", d)
	}
	if c.RetrySchedule != "" {
		t.Fatalf("HOOKD_RETRY_SCHEDULE=\"\" means a single attempt, got %q", c.RetrySchedule)
	}
	c, err = parse(t, nil, map[string]string{"HOOKD_ALLOW_CIDR": "127.0.0.0/8, ::1/128"})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(ListFlag{"127.0.0.0/8", "::1/128"}, c.AllowCIDR); d != "" {
		t.Fatalf("comma-separated variable (-want +got):\n%s", d)
	}
}

func TestRepeatedFlag(t *testing.T) {
	c, err := parse(t, []string{"--allow-cidr", "127.0.0.0/8", "--allow-cidr", "::1/128"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.AllowCIDR) != 2 {
		t.Fatalf("repeatable flag: %v", c.AllowCIDR)
	}
}

func TestBadValuesAreErrors(t *testing.T) {
	if _, err := parse(t, nil, map[string]string{"HOOKD_WORKERS": "many"}); err == nil {
		t.Fatal("a malformed variable must be an error")
	}
	for _, args := range [][]string{{"--workers", "0"}, {"--delivery-timeout", "0s"}, {"--webhook-concurrency", "0"}, {"--database", "mysql://x"}} {
		c, err := parse(t, args, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Validate(true); err == nil {
			t.Fatalf("%v must not validate", args)
		}
	}
	c, _ := parse(t, []string{"--database", "postgresql://u@h/db"}, nil)
	if err := c.Validate(true); err != nil || !c.IsPostgres() {
		t.Fatalf("postgresql:// is PostgreSQL: %v", err)
	}
}

func TestEnvName(t *testing.T) {
	if got := EnvName("webhook-concurrency"); got != "HOOKD_WEBHOOK_CONCURRENCY" {
		t.Fatal(got)
	}
}

// TestValidateReportsEveryProblem: one start, one list of every mistake.
func TestValidateReportsEveryProblem(t *testing.T) {
	c, err := parse(t, []string{"--workers", "0", "--retention", "0s", "--log-level", "loud", "--database", "mysql://x"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = c.Validate(true)
	var p Problems
	if !errors.As(err, &p) || len(p) != 4 {
		t.Fatalf("Validate = %v, want the 4 problems", err)
	}
	for _, want := range []string{"4 problems with the configuration:\n  - --database", "\n  - --log-level", "\n  - --retention", "\n  - --workers"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
	// The administration commands have no serve flags to get wrong.
	if err := c.Validate(false); err == nil || strings.Contains(err.Error(), "--workers") {
		t.Errorf("Validate(false) = %v, want only the shared flags' problems", err)
	}
	// One problem reads as one sentence.
	c, _ = parse(t, []string{"--workers", "0"}, nil)
	if err := c.Validate(true); err == nil || err.Error() != "--workers must be at least 1" {
		t.Errorf("one problem: %q", err)
	}
}

func TestParseLogLevel(t *testing.T) {
	for in, want := range map[string]slog.Level{"debug": slog.LevelDebug, "INFO": slog.LevelInfo, " Warn ": slog.LevelWarn, "error": slog.LevelError} {
		if got, err := ParseLogLevel(in); err != nil || got != want {
			t.Errorf("ParseLogLevel(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"loud", "", "info+2", "warning"} {
		_, err := ParseLogLevel(in)
		if err == nil || !strings.Contains(err.Error(), "use debug, info, warn or error") {
			t.Errorf("ParseLogLevel(%q) = %v, want the valid levels listed", in, err)
		}
	}
}
