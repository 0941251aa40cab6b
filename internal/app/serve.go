package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
//
// A start that fails leaves nothing behind: every flag is checked first
// (all mistakes reported at once), then --addr is bound, and only then is
// the store opened or created and key material generated; if a later step
// fails, what this start created in --data-dir is removed again.
func Serve(ctx context.Context, cfg *config.Config, log *slog.Logger, ready chan<- string) error {
	parts, err := checkServe(cfg)
	if err != nil {
		return err
	}
	ln, err := listen(cfg.Addr)
	if err != nil {
		return err
	}
	defer ln.Close() // after a failed start; serving closes it too

	// Registered before the store's Close, so it runs after it.
	fresh := noteMissing(cfg)
	started := false
	defer func() {
		if started {
			return
		}
		if cleanErr := fresh.remove(); cleanErr != nil {
			log.Warn("removing what the failed start created", "err", cleanErr)
		}
	}()
	reg, storeObserver, err := newRegistry()
	if err != nil {
		return err
	}
	st, err := OpenServingStore(ctx, cfg, storeObserver)
	if err != nil {
		return err
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
		Schedule: parts.schedule, Client: parts.client, Box: keys.Box, UserAgent: UserAgent(), Logger: log, Registerer: reg,
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
		Store: st, Auth: &auth.Authenticator{Dir: st, JWT: verifier}, Box: keys.Box, Policy: parts.policy,
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
	if cfg.CPUProfile != "" {
		stop, err := startCPUProfile(cfg.CPUProfile)
		if err != nil {
			return fmt.Errorf("--cpu-profile: %w", err)
		}
		defer stop()
	}
	started = true
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
