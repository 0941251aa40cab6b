package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"regexp"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/hookd/hookd/internal/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Options configures Open.
type Options struct {
	// URL is a PostgreSQL connection string (postgres://…).
	URL string
	// Schema, when set, is the only schema on the search_path; it is created
	// if missing. Tests use it to isolate themselves in one database.
	Schema string
	// MaxConns caps the connection pool (0: pgxpool's default, at least 4).
	// The wake-up listener uses one more connection outside the pool.
	MaxConns int32
	// Observer is told of every group-commit round and of the deliveries
	// created (metrics); nil: store.NopObserver.
	Observer store.Observer

	// maxRoundCalls caps how many calls one group-commit round takes
	// (0: defaultMaxRoundCalls). 1 turns group commit off (benchmarks).
	maxRoundCalls int
}

// Store is store.Store on PostgreSQL. Several Stores (processes) may share
// one database and schema.
type Store struct {
	pool       *pgxpool.Pool
	connConfig *pgx.ConnConfig // for the connections outside the pool
	channel    string          // the LISTEN/NOTIFY channel of this schema
	lockClass  int32           // the first key of this schema's owner locks
	writer     *writer
	wake       *listener
	owners     owners
	obs        store.Observer

	closeOnce sync.Once
}

var _ store.Store = (*Store)(nil)

// schemaName keeps Schema a plain identifier: it is spliced into SQL.
var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Open connects, migrates and starts the group-commit writer and the
// wake-up listener.
func Open(ctx context.Context, opt Options) (*Store, error) {
	if opt.Schema != "" && !schemaName.MatchString(opt.Schema) {
		return nil, fmt.Errorf("postgres: schema %q: want a lower-case identifier of at most 63 characters", opt.Schema)
	}
	cfg, err := pgxpool.ParseConfig(opt.URL)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse url: %w", err)
	}
	if opt.MaxConns > 0 {
		cfg.MaxConns = opt.MaxConns
	} else if cfg.MaxConns < 4 {
		cfg.MaxConns = 4
	}
	cfg.AfterConnect = registerUUID
	if opt.Schema != "" {
		if err := createSchema(ctx, cfg.ConnConfig, opt.Schema); err != nil {
			return nil, err
		}
		cfg.ConnConfig.RuntimeParams["search_path"] = opt.Schema
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	if err := migrate(ctx, pool, opt.Schema); err != nil {
		pool.Close()
		return nil, err
	}
	var schema string
	if err := pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		pool.Close()
		return nil, mapErr("read schema", err)
	}
	obs := opt.Observer
	if obs == nil {
		obs = store.NopObserver{}
	}
	s := &Store{pool: pool, connConfig: cfg.ConnConfig.Copy(), channel: channelName(schema), lockClass: lockClass(schema), obs: obs}
	s.wake = startListener(cfg.ConnConfig, s.channel)
	s.writer = startWriter(pool, s.channel, opt.maxRoundCalls, obs)
	return s, nil
}

// createSchema creates the schema, tolerating a concurrent creator.
func createSchema(ctx context.Context, cc *pgx.ConnConfig, schema string) error {
	conn, err := pgx.ConnectConfig(ctx, cc.Copy())
	if err != nil {
		return fmt.Errorf("postgres: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == "23505" || pgErr.Code == "42P06") {
		return nil // created by a process starting at the same time
	}
	if err != nil {
		return fmt.Errorf("postgres: create schema: %w", err)
	}
	return nil
}

// migrate applies the embedded migrations. The session advisory lock makes
// processes starting together take turns; each schema has its own lock id so
// parallel test schemas do not wait for each other.
func migrate(ctx context.Context, pool *pgxpool.Pool, schema string) error {
	lockOpts := []lock.SessionLockerOption{lock.WithLockTimeout(1, 120)}
	if schema != "" && schema != "public" {
		lockOpts = append(lockOpts, lock.WithLockID(schemaLockID(schema)))
	}
	locker, err := lock.NewPostgresSessionLocker(lockOpts...)
	if err != nil {
		return fmt.Errorf("postgres: migration lock: %w", err)
	}
	fsys, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	provider, err := goose.NewProvider(goose.DialectPostgres, db, fsys, goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	if _, err := provider.Up(ctx); err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	return nil
}

func schemaLockID(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("hookd migrations " + schema))
	return int64(h.Sum64() >> 1) // positive, away from goose's default id
}

// channelName is the NOTIFY channel of a schema (the current one, however it
// was chosen: Options.Schema or search_path in the URL): stores in different
// schemas of one database must not wake each other, and a channel name is
// limited to 63 bytes, so a schema is represented by a hash.
func channelName(schema string) string {
	if schema == "public" {
		return "hookd_work"
	}
	h := fnv.New64a()
	h.Write([]byte(schema))
	return fmt.Sprintf("hookd_work_%016x", h.Sum64())
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// Close stops the listener and the writer (a round in progress finishes)
// and closes the pool. Calls after Close fail with errClosed.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.wake.stop()
		s.writer.stop()
		s.pool.Close()
	})
	return nil
}

// Wakeups signals (capacity 1, never closed) when any process sharing this
// schema may have made work due.
func (s *Store) Wakeups() <-chan struct{} { return s.wake.ch }
