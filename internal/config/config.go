// Package config holds hookd's command-line configuration. Every flag also
// reads an environment variable HOOKD_<FLAG_IN_CAPS> (dashes become
// underscores); a flag given on the command line overrides its variable.
package config

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"
)

// Config is the union of the flags of `serve` and the administration commands.
type Config struct {
	Addr               string
	DataDir            string
	Database           string
	JWTSecret          string
	JWKSURL            string
	JWTIssuer          string
	JWTAudience        string
	MasterKey          string
	PreviousMasterKey  ListFlag
	IngestToken        string
	AllowCIDR          ListFlag
	CAFile             string
	RetrySchedule      string
	DeliveryTimeout    time.Duration
	Retention          time.Duration
	WebhookConcurrency int
	Workers            int
	LogLevel           string
	CPUProfile         string
}

// ListFlag is a repeatable flag; its environment variable is comma-separated.
type ListFlag []string

func (l *ListFlag) String() string { return strings.Join(*l, ",") }

// Set appends one value, or several when given comma-separated.
func (l *ListFlag) Set(v string) error {
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*l = append(*l, part)
		}
	}
	return nil
}

// Register defines the store and key flags every command shares; with serve
// it adds the API and delivery flags too.
func Register(fs *flag.FlagSet, serve bool) *Config {
	c := &Config{}
	fs.StringVar(&c.DataDir, "data-dir", "./hookd-data", "directory of the embedded store and generated key files")
	fs.StringVar(&c.Database, "database", "", "postgres://… to use PostgreSQL (default: embedded SQLite in --data-dir)")
	fs.StringVar(&c.JWTSecret, "jwt-secret", "", "HS256 secret (default: generated into --data-dir on the embedded store)")
	fs.StringVar(&c.JWTIssuer, "jwt-issuer", "", "required iss claim of every JWT")
	fs.StringVar(&c.JWTAudience, "jwt-audience", "", "required aud claim of every JWT")
	fs.StringVar(&c.MasterKey, "master-key", "", "base64 of 32 bytes encrypting webhook secrets (default: generated into --data-dir on the embedded store)")
	fs.Var(&c.PreviousMasterKey, "previous-master-key", "an earlier master key that still decrypts, never encrypts, during a master-key rotation (repeatable)")
	fs.StringVar(&c.JWKSURL, "jwks-url", "", "JWKS URL for RS256/ES256/EdDSA JWTs")
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	if !serve {
		return c
	}
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:8080", "listen address of the API")
	fs.StringVar(&c.IngestToken, "ingest-token", "", "bearer token of the task-event ingest API (unset: ingest answers 401)")
	fs.Var(&c.AllowCIDR, "allow-cidr", "destination range permitted despite the network policy (repeatable)")
	fs.StringVar(&c.CAFile, "ca-file", "", "extra PEM roots trusted for webhook destinations")
	fs.StringVar(&c.RetrySchedule, "retry-schedule", "0s,5s,30s,2m", "waits before retries 1…n (empty: a single attempt)")
	fs.DurationVar(&c.DeliveryTimeout, "delivery-timeout", 10*time.Second, "whole-attempt timeout")
	fs.DurationVar(&c.Retention, "retention", 720*time.Hour, "how long events, deliveries and attempts are kept")
	fs.IntVar(&c.WebhookConcurrency, "webhook-concurrency", 16, "attempts in flight per webhook")
	fs.IntVar(&c.Workers, "workers", 256, "attempts in flight in all")
	fs.StringVar(&c.CPUProfile, "cpu-profile", "", "diagnostics: write a Go CPU profile of the whole run to this file")
	return c
}

// EnvName is the environment variable of a flag.
func EnvName(flagName string) string {
	return "HOOKD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Parse parses args, then fills every flag not given on the command line from
// its environment variable.
// A variable set to the empty string counts as set (HOOKD_RETRY_SCHEDULE=""
// means a single attempt), as the flag given empty would.
func Parse(fs *flag.FlagSet, args []string, lookupEnv func(string) (string, bool)) error {
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] {
			return
		}
		v, ok := lookupEnv(EnvName(f.Name))
		if !ok {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: %w", EnvName(f.Name), v, err))
		}
	})
	return errors.Join(errs...)
}

// IsPostgres reports whether the configured store is PostgreSQL.
func (c *Config) IsPostgres() bool {
	return strings.HasPrefix(c.Database, "postgres://") || strings.HasPrefix(c.Database, "postgresql://")
}

// Validate checks what flag parsing cannot. It reports every mistake at
// once (a Problems), so that a start does not fail once per wrong flag.
func (c *Config) Validate(serve bool) error {
	var p Problems
	if c.Database != "" && !c.IsPostgres() {
		p.Addf("--database must be a postgres:// or postgresql:// URL (leave it unset for the embedded store)")
	}
	if _, err := ParseLogLevel(c.LogLevel); err != nil {
		p.Add(err)
	}
	if serve {
		if c.DeliveryTimeout <= 0 {
			p.Addf("--delivery-timeout must be positive")
		}
		if c.Retention <= 0 {
			p.Addf("--retention must be positive")
		}
		if c.WebhookConcurrency < 1 {
			p.Addf("--webhook-concurrency must be at least 1")
		}
		if c.Workers < 1 {
			p.Addf("--workers must be at least 1")
		}
	}
	return p.Err()
}

// logLevels are the names --log-level accepts. slog would also take
// offsets such as "INFO+2", but nobody means those on a command line, and
// its error ("slog: level string \"LOUD\": unknown name") does not say
// what would have worked.
var logLevels = map[string]slog.Level{
	"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError,
}

// ParseLogLevel reads --log-level: debug, info, warn or error, in any case.
func ParseLogLevel(s string) (slog.Level, error) {
	if l, ok := logLevels[strings.ToLower(strings.TrimSpace(s))]; ok {
		return l, nil
	}
	return 0, fmt.Errorf("--log-level %q is not a level: use debug, info, warn or error", s)
}
