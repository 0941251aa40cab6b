package demo

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/hookd/hookd/internal/app"
	"github.com/hookd/hookd/internal/auth"
	"github.com/hookd/hookd/internal/config"
	"github.com/hookd/hookd/internal/secretbox"
	"github.com/hookd/hookd/internal/store"
)

// serveArgs are the `hookd serve` flags the demo runs with; ingestToken is
// replaced by a placeholder when they are printed.
func serveArgs(dataDir, caFile, ingestToken string) []string {
	return []string{
		"--data-dir", dataDir,
		"--addr", "127.0.0.1:0",
		"--ingest-token", ingestToken,
		"--allow-cidr", "127.0.0.0/8",
		"--ca-file", caFile,
		"--retry-schedule", RetrySchedule,
		"--delivery-timeout", "5s",
	}
}

// serveConfig parses serveArgs with serve's own flag definitions, so every
// other setting keeps its real default. The environment is deliberately not
// read: a HOOKD_DATABASE meant for a real deployment must not point the demo
// at it.
func serveConfig(args []string) (*config.Config, error) {
	fs := flag.NewFlagSet("hookd demo", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg := config.Register(fs, true)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return cfg, cfg.Validate(true)
}

// newIngestToken makes a random ingest token for this run only.
func newIngestToken() (string, error) {
	return secretbox.GenerateSecret("demo-ingest-", 32)
}

// identity is what the bootstrap made: a team, an admin in it, and a JWT
// for that admin.
type identity struct {
	teamID, userID uuid.UUID
	teamName       string
	token          string
}

// bootstrap does what `hookd team create`, `hookd member add` and
// `hookd token` do: write the team and member straight into the store (before
// hookd opens it) and mint an HS256 token with the store's generated secret.
func bootstrap(ctx context.Context, cfg *config.Config, tokenTTL time.Duration) (identity, error) {
	id := identity{teamName: "Demo team"}
	var err error
	if id.teamID, err = uuid.NewV7(); err != nil {
		return id, err
	}
	if id.userID, err = uuid.NewV7(); err != nil {
		return id, err
	}
	st, err := app.CreateStore(ctx, cfg)
	if err != nil {
		return id, fmt.Errorf("opening the store: %w", err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	err = st.CreateTeam(ctx, store.Team{ID: id.teamID, DisplayName: id.teamName, CreatedAt: now})
	if err == nil {
		err = st.PutMember(ctx, store.Member{TeamID: id.teamID, UserID: id.userID, Role: string(auth.RoleAdmin), CreatedAt: now})
	}
	if closeErr := st.Close(); err == nil && closeErr != nil {
		err = fmt.Errorf("closing the store: %w", closeErr)
	}
	if err != nil {
		return id, fmt.Errorf("creating the demo team: %w", err)
	}
	secret, err := app.LoadJWTSecret(cfg)
	if err != nil {
		return id, err
	}
	id.token, err = auth.MintHS256(secret, id.userID, tokenTTL, cfg.JWTIssuer, cfg.JWTAudience, time.Now())
	return id, err
}

// server is hookd running in this process through app.Serve.
type server struct {
	base    string // http://127.0.0.1:port
	cancel  context.CancelFunc
	done    chan error
	stopped bool
	err     error
}

// startServer runs app.Serve in a goroutine and waits until it listens.
func startServer(ctx context.Context, cfg *config.Config, log *slog.Logger) (*server, error) {
	serveCtx, cancel := context.WithCancel(ctx)
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- app.Serve(serveCtx, cfg, log, ready) }()
	select {
	case addr := <-ready:
		return &server{base: "http://" + addr, cancel: cancel, done: done}, nil
	case err := <-done:
		cancel()
		if err == nil {
			err = errors.New("it stopped before listening")
		}
		return nil, fmt.Errorf("starting hookd: %w", err)
	case <-ctx.Done():
		cancel()
		<-done
		return nil, fmt.Errorf("starting hookd: %w", context.Cause(ctx))
	}
}

// stop cancels Serve and waits for its orderly shutdown; calling it again
// returns the first result.
func (s *server) stop() error {
	if !s.stopped {
		s.stopped = true
		s.cancel()
		if err := <-s.done; err != nil {
			s.err = fmt.Errorf("hookd stopped with an error: %w", err)
		}
	}
	return s.err
}
