package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hookd/hookd/internal/api"
	"github.com/hookd/hookd/internal/auth"
	"github.com/hookd/hookd/internal/config"
	"github.com/hookd/hookd/internal/delivery"
	"github.com/hookd/hookd/internal/ingest"
	"github.com/hookd/hookd/internal/netguard"
	"github.com/hookd/hookd/internal/store/storemetrics"
)

// Version is set at build time (-ldflags "-X github.com/hookd/hookd/internal/app.Version=…").
var Version = "0.1.0-dev"

// UserAgent is sent with every delivery.
func UserAgent() string { return "hookd/" + Version }

// Serve runs the API and the delivery workers until ctx is canceled, then
// shuts down in order: stop accepting requests, let in-flight attempts finish
// (bounded by --delivery-timeout) or release their leases, close the store.
// ready, when non-nil, receives the bound address once the listener is up.
func Serve(ctx context.Context, cfg *config.Config, log *slog.Logger, ready chan<- string) error {
	if err := cfg.Validate(true); err != nil {
		return err
	}
	if cfg.CPUProfile != "" {
		stop, err := startCPUProfile(cfg.CPUProfile)
		if err != nil {
			return fmt.Errorf("--cpu-profile: %w", err)
		}
		defer stop()
	}
	schedule, err := delivery.ParseSchedule(cfg.RetrySchedule)
	if err != nil {
		return fmt.Errorf("--retry-schedule: %w", err)
	}
	policy, err := netguard.NewPolicy(cfg.AllowCIDR)
	if err != nil {
		return fmt.Errorf("--allow-cidr: %w", err)
	}
	// Keep-alive connections per host are sized to the process, not to one
	// webhook: webhooks of many teams often share a host (a SaaS ingress, a
	// tunnel), and an idle pool smaller than the attempts in flight to that
	// host closes connections after every burst and pays a TLS handshake
	// for each new one (over HTTP/1.1, one connection carries one request at
	// a time). Isolation is the lanes' job, not the pool's.
	client, err := netguard.NewClient(policy, netguard.ClientOptions{
		CAFile: cfg.CAFile, Timeout: cfg.DeliveryTimeout, MaxIdleConnsPerHost: cfg.Workers,
	})
	if err != nil {
		return fmt.Errorf("--ca-file: %w", err)
	}
	reg, storeObserver, err := newRegistry()
	if err != nil {
		return err
	}
	st, err := OpenServingStore(ctx, cfg, storeObserver)
	if err != nil {
		return fmt.Errorf("opening the store: %w", err)
	}
	defer st.Close()
	keys, err := LoadKeys(ctx, cfg, st)
	if err != nil {
		return err
	}
	// The JWKS refresher lives until the process stops serving.
	jwtCtx, stopJWT := context.WithCancel(context.Background())
	defer stopJWT()
	verifier, err := auth.NewVerifier(jwtCtx, auth.JWTConfig{
		HS256Secret: keys.JWTSecret, JWKSURL: cfg.JWKSURL, Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience,
	})
	if err != nil {
		return fmt.Errorf("JWT configuration: %w", err)
	}

	engine, err := delivery.New(st, delivery.Config{
		Workers: cfg.Workers, PerWebhook: cfg.WebhookConcurrency, Timeout: cfg.DeliveryTimeout,
		Schedule: schedule, Client: client, Box: keys.Box, UserAgent: UserAgent(), Logger: log, Registerer: reg,
	})
	if err != nil {
		return err
	}
	if _, err := storemetrics.NewCollector(reg, st, engine.LeaseDuration(), 0, 0); err != nil {
		return err
	}
	instruments, err := api.NewInstruments(reg)
	if err != nil {
		return err
	}
	srv := &api.Server{
		Store: st, Auth: &auth.Authenticator{Dir: st, JWT: verifier}, Box: keys.Box, Policy: policy,
		Ingest: &ingest.Service{Store: st, Engine: engine}, IngestToken: cfg.IngestToken, Waker: engine,
		Recoveries: engine, Retention: cfg.Retention,
		Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), Instruments: instruments, UserAgent: UserAgent(), Logger: log,
	}
	httpServer := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("--addr: %w", err)
	}
	if cfg.IngestToken == "" {
		log.Warn("no --ingest-token: the task-event ingest API answers 401 to everyone")
	}

	workCtx, stopWork := context.WithCancel(context.Background())
	defer stopWork()
	var wg sync.WaitGroup
	engineErr := make(chan error, 1)
	wg.Add(2)
	go func() { defer wg.Done(); engineErr <- engine.Run(workCtx) }()
	go func() { defer wg.Done(); delivery.RunPurger(workCtx, st, cfg.Retention, time.Hour, log) }()
	serveErr := make(chan error, 1)
	go func() { serveErr <- httpServer.Serve(ln) }()
	logStart(log, cfg, ln.Addr().String(), keys)
	if ready != nil {
		ready <- ln.Addr().String()
	}

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		runErr = err
	case err := <-engineErr:
		runErr = fmt.Errorf("delivery engine stopped: %w", err)
	}
	log.Info("hookd shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := httpServer.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Warn("HTTP shutdown", "err", err)
	}
	stopWork()
	wg.Wait()
	log.Info("hookd stopped")
	return runErr
}

// startCPUProfile profiles the process until the returned function runs
// (at the end of Serve).
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
