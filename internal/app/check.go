package app

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/hookd/hookd/internal/auth"
	"github.com/hookd/hookd/internal/config"
	"github.com/hookd/hookd/internal/delivery"
	"github.com/hookd/hookd/internal/netguard"
	"github.com/hookd/hookd/internal/secretbox"
)

var (
	errMasterKeyRequired = errors.New("--master-key (or HOOKD_MASTER_KEY) is required with PostgreSQL: every process must share it; generate one with: head -c 32 /dev/urandom | base64")
	errJWTSecretRequired = errors.New("--jwt-secret (or HOOKD_JWT_SECRET, or --jwks-url) is required with PostgreSQL: every process must share it; at least 32 bytes, e.g. head -c 32 /dev/urandom | base64")
)

// serveParts is what Serve builds from its flags alone, before it touches
// the network, the disk or the database.
type serveParts struct {
	schedule []time.Duration
	policy   *netguard.Policy
	client   *http.Client
}

// checkServe validates every flag of `hookd serve` and reports all the
// mistakes at once: a start fails once, listing them, instead of once per
// flag (and, on PostgreSQL, only after connecting).
func checkServe(cfg *config.Config) (serveParts, error) {
	var parts serveParts
	var p config.Problems
	p.Add(cfg.Validate(true))
	var err error
	if parts.schedule, err = delivery.ParseSchedule(cfg.RetrySchedule); err != nil {
		p.Addf("--retry-schedule: %w", err)
	}
	if parts.policy, err = netguard.NewPolicy(cfg.AllowCIDR); err != nil {
		p.Addf("--allow-cidr: %w", err)
	} else if cfg.DeliveryTimeout > 0 { // else Validate has said so
		// Keep-alive connections per host are sized to the process, not to
		// one webhook: webhooks of many teams often share a host (a SaaS
		// ingress, a tunnel), and an idle pool smaller than the attempts in
		// flight to that host closes connections after every burst and pays
		// a TLS handshake for each new one (over HTTP/1.1, one connection
		// carries one request at a time). Isolation is the lanes' job, not
		// the pool's.
		parts.client, err = netguard.NewClient(parts.policy, netguard.ClientOptions{
			CAFile: cfg.CAFile, Timeout: cfg.DeliveryTimeout, MaxIdleConnsPerHost: cfg.Workers,
		})
		if err != nil {
			p.Addf("--ca-file: %w", err)
		}
	}
	p.Add(checkKeyFlags(cfg))
	return parts, p.Err()
}

// checkKeyFlags checks the key material given as flags, and on PostgreSQL
// that it is given at all (there is no data directory to generate it into,
// and every process must share it).
func checkKeyFlags(cfg *config.Config) error {
	var p config.Problems
	switch {
	case cfg.MasterKey != "":
		if _, err := secretbox.ParseKey(cfg.MasterKey); err != nil {
			p.Addf("--master-key: %w", err)
		}
	case cfg.IsPostgres():
		p.Add(errMasterKeyRequired)
	}
	switch {
	case cfg.JWTSecret != "":
		if n := len(cfg.JWTSecret); n < auth.MinHS256SecretLen {
			p.Addf("--jwt-secret is %d bytes: HS256 needs at least %d", n, auth.MinHS256SecretLen)
		}
	case cfg.IsPostgres() && cfg.JWKSURL == "":
		p.Add(errJWTSecretRequired)
	}
	return p.Err()
}

// listen binds --addr. It runs before anything is created on disk, so a
// start that cannot serve leaves nothing behind.
func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("--addr %s is already in use (by another hookd serve, or another program): stop it, or choose another address with --addr", addr)
	}
	if err != nil {
		return nil, fmt.Errorf("--addr %s: %w", addr, err)
	}
	return ln, nil
}
