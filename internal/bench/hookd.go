package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd/internal/app"
	"github.com/hookd/hookd/internal/auth"
	"github.com/hookd/hookd/internal/config"
	"github.com/hookd/hookd/internal/store"
)

// hookdOptions are the per-run settings of the hookd under test; everything
// else keeps `hookd serve`'s defaults.
type hookdOptions struct {
	deliveryTimeout time.Duration
	perWebhook      int
	// prepare, when set, writes into the store after the team and its admin
	// exist and before hookd opens it (on SQLite `hookd serve` holds the
	// store exclusively, so prepare must have closed it when it returns).
	prepare func(ctx context.Context, s storeSetup, team uuid.UUID) error
}

// hookd is one hookd under test, on a fresh store, with one team and an
// admin of it: a `hookd serve` child process, or app.Serve in this process.
type hookd struct {
	base        string // http://127.0.0.1:port
	team        uuid.UUID
	token       string // the admin's JWT
	ingestToken string
	api         *http.Client
	pid         int // the child's pid; 0 in-process

	exited  chan struct{} // closed when hookd has stopped, asked to or not
	exitErr error         // why; set before exited is closed
	// signal asks hookd to stop (SIGTERM, or cancelling app.Serve); kill,
	// when not nil, stops a child that did not stop in time.
	signal  func()
	kill    func()
	cleanup func() error
}

// stopDeadline bounds a child's orderly shutdown after SIGTERM: serve waits
// up to 10 s for HTTP requests, then for in-flight attempts.
const stopDeadline = time.Minute

// storeSetup is a fresh store for one hookd and the secrets that open it.
type storeSetup struct {
	dir         string // --data-dir
	database    string // --database, "" for SQLite
	jwtSecret   string
	masterKey   string
	ingestToken string
	cleanup     func() error
}

// storeFlags are the flags every command that opens the store needs.
func (s storeSetup) storeFlags() []string {
	args := []string{"--data-dir", s.dir, "--master-key", s.masterKey, "--jwt-secret", s.jwtSecret}
	if s.database != "" {
		args = append(args, "--database", s.database)
	}
	return args
}

// serveFlags are `hookd serve`'s flags for the bench; the same in both modes.
func (env *environment) serveFlags(s storeSetup, opts hookdOptions, addr string) []string {
	var extra []string
	if env.profileBase != "" {
		extra = []string{"--cpu-profile", env.profileBase + ".hookd.cpu.pprof"}
	}
	return append(append(s.storeFlags(), extra...),
		"--addr", addr,
		"--ingest-token", s.ingestToken,
		"--allow-cidr", "127.0.0.0/8",
		"--ca-file", env.rcv.caFile,
		"--delivery-timeout", opts.deliveryTimeout.String(),
		"--webhook-concurrency", strconv.Itoa(opts.perWebhook),
		"--workers", strconv.Itoa(env.workers),
		"--log-level", "warn",
	)
}

// newStore makes a fresh store (a temporary directory, or a new schema of
// the PostgreSQL database) and random secrets for it.
func (env *environment) newStore(ctx context.Context) (s storeSetup, err error) {
	if s.dir, err = os.MkdirTemp(env.dir, "hookd-"); err != nil {
		return s, err
	}
	var dropSchema func() error
	dir := s.dir
	s.cleanup = func() error {
		var errs []error
		if dropSchema != nil {
			errs = append(errs, dropSchema())
		}
		errs = append(errs, os.RemoveAll(dir))
		return errors.Join(errs...)
	}
	defer func() {
		if err != nil {
			_ = s.cleanup()
		}
	}()
	if env.postgresURL != "" {
		if s.database, dropSchema, err = freshSchema(ctx, env.postgresURL); err != nil {
			return s, err
		}
	}
	if s.ingestToken, err = randomHex("bench-ingest-", 24); err != nil {
		return s, err
	}
	if s.jwtSecret, err = randomHex("", 32); err != nil {
		return s, err
	}
	var key [32]byte
	if _, err := rand.Read(key[:]); err != nil {
		return s, err
	}
	s.masterKey = base64.StdEncoding.EncodeToString(key[:])
	return s, nil
}

// startHookd starts a hookd on a fresh store in the run's mode.
func startHookd(ctx context.Context, env *environment, opts hookdOptions) (*hookd, error) {
	s, err := env.newStore(ctx)
	if err != nil {
		return nil, err
	}
	var h *hookd
	if env.opts.InProcess {
		h, err = startInProcess(ctx, env, s, opts)
	} else {
		h, err = startChild(ctx, env, s, opts)
	}
	if err != nil {
		return nil, errors.Join(err, s.cleanup())
	}
	h.api = &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute,
	}}
	return h, nil
}

// startInProcess bootstraps a team the way `hookd team create` and `hookd
// member add` do and runs app.Serve in this process until stop.
func startInProcess(ctx context.Context, env *environment, s storeSetup, opts hookdOptions) (*hookd, error) {
	cfg, err := serveConfig(env.serveFlags(s, opts, "127.0.0.1:0"))
	if err != nil {
		return nil, err
	}
	h := &hookd{ingestToken: s.ingestToken, exited: make(chan struct{}), cleanup: s.cleanup}
	user := uuid.Must(uuid.NewV7())
	if h.team, err = bootstrap(ctx, cfg, user); err != nil {
		return nil, err
	}
	if opts.prepare != nil {
		if err := opts.prepare(ctx, s, h.team); err != nil {
			return nil, err
		}
	}
	if h.token, err = auth.MintHS256([]byte(s.jwtSecret), user, 24*time.Hour, "", "", time.Now()); err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(env.log, &slog.HandlerOptions{Level: slog.LevelWarn}))
	serveCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	h.signal = cancel
	ready := make(chan string, 1)
	go func() {
		h.exitErr = app.Serve(serveCtx, cfg, log, ready)
		close(h.exited)
	}()
	select {
	case addr := <-ready:
		h.base = "http://" + addr
		return h, nil
	case <-h.exited:
		cancel()
		return nil, fmt.Errorf("starting hookd: %w", h.exitErr)
	case <-ctx.Done():
		cancel()
		<-h.exited
		return nil, fmt.Errorf("starting hookd: %w", context.Cause(ctx))
	}
}

// stop shuts hookd down in order (in-flight attempts finish or are
// released) and removes its store. A child that has not exited a minute
// after SIGTERM is killed, and that is an error.
func (h *hookd) stop() error {
	h.signal()
	var err error
	if h.kill == nil {
		<-h.exited
		err = h.exitErr
	} else {
		select {
		case <-h.exited:
			err = h.exitErr
		case <-time.After(stopDeadline):
			h.kill()
			<-h.exited
			err = fmt.Errorf("hookd did not stop within %s of SIGTERM and was killed", stopDeadline)
		}
	}
	if h.api != nil {
		h.api.CloseIdleConnections()
	}
	return errors.Join(err, h.cleanup())
}

// serveConfig parses args with serve's own flag definitions, so every other
// setting keeps its real default. The environment is not read: a
// HOOKD_DATABASE meant for a deployment must not point the bench at it.
func serveConfig(args []string) (*config.Config, error) {
	fs := flag.NewFlagSet("hookd bench", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg := config.Register(fs, true)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return cfg, cfg.Validate(true)
}

// defaultWorkers is `hookd serve`'s --workers default, which the bench
// passes explicitly so that an older binary uses the same value.
func defaultWorkers() int {
	fs := flag.NewFlagSet("defaults", flag.ContinueOnError)
	cfg := config.Register(fs, true)
	return cfg.Workers
}

// bootstrap writes a team and its admin straight into the store, before
// hookd opens it (as the administration commands do).
func bootstrap(ctx context.Context, cfg *config.Config, user uuid.UUID) (uuid.UUID, error) {
	team := uuid.Must(uuid.NewV7())
	st, err := app.CreateStore(ctx, cfg)
	if err != nil {
		return team, fmt.Errorf("opening the store: %w", err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	err = st.CreateTeam(ctx, store.Team{ID: team, DisplayName: "bench", CreatedAt: now})
	if err == nil {
		err = st.PutMember(ctx, store.Member{TeamID: team, UserID: user, Role: string(auth.RoleAdmin), CreatedAt: now})
	}
	return team, errors.Join(err, st.Close())
}

// freshSchema creates a new schema in the database of base and returns a
// URL whose search_path selects it, and a function that drops it.
func freshSchema(ctx context.Context, base string) (string, func() error, error) {
	name, err := randomHex("hookd_bench_", 8)
	if err != nil {
		return "", nil, err
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", nil, fmt.Errorf("--database: %w", err)
	}
	exec := func(ctx context.Context, sql string) error {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	ident := pgx.Identifier{name}.Sanitize()
	if err := exec(ctx, "CREATE SCHEMA "+ident); err != nil {
		return "", nil, fmt.Errorf("creating a PostgreSQL schema for the run: %w", err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	drop := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		return exec(ctx, "DROP SCHEMA IF EXISTS "+ident+" CASCADE")
	}
	return u.String(), drop, nil
}

func randomHex(prefix string, n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return prefix + hex.EncodeToString(b), nil
}

// createWebhook registers ep through the API and gives the receiver the
// secret the API returned.
func (h *hookd) createWebhook(ctx context.Context, rcv *receiver, ep *endpoint) error {
	body, _ := json.Marshal(map[string]any{
		"display_name": "bench " + ep.path, "webhook_url": rcv.url(ep),
		"webhook_events": []string{"task.completed", "task.failed"},
	})
	var out struct {
		ID     string `json:"id"`
		Secret string `json:"webhook_secret"`
	}
	if err := h.call(ctx, http.MethodPost, "/api/v1/webhooks", h.token, body, http.StatusCreated, &out); err != nil {
		return fmt.Errorf("creating webhook %s: %w", ep.path, err)
	}
	ep.setSecret(out.Secret)
	return nil
}

// call sends one request to hookd and decodes a want answer into out.
func (h *hookd) call(ctx context.Context, method, path, bearer string, body []byte, want int, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, h.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("X-Team-ID", h.team.String())
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := h.api.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(data))
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}
