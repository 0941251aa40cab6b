// Package config holds hookd's command-line configuration. Every flag also
// reads an environment variable HOOKD_<FLAG_IN_CAPS> (dashes become
// underscores); a flag given on the command line overrides its variable.
package config

import (
	"errors"
	"flag"
	"fmt"
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

// Validate checks what flag parsing cannot.
func (c *Config) Validate(serve bool) error {
	if c.Database != "" && !c.IsPostgres() {
		return fmt.Errorf("--database must be a postgres:// or postgresql:// URL (leave it unset for the embedded store)")
	}
	if !serve {
		return nil
	}
	switch {
	case c.DeliveryTimeout <= 0:
		return errors.New("--delivery-timeout must be positive")
	case c.Retention <= 0:
		return errors.New("--retention must be positive")
	case c.WebhookConcurrency < 1:
		return errors.New("--webhook-concurrency must be at least 1")
	case c.Workers < 1:
		return errors.New("--workers must be at least 1")
	}
	return nil
}
