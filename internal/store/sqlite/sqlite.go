// Package sqlite is the embedded store.Store: one SQLite file in WAL mode
// with synchronous=FULL, so a committed ingest is on disk.
//
// Writes are group-committed. Every write (ingest, lease, outcomes, admin
// changes) is a job handed to a single writer goroutine that owns the only
// writer connection. The writer takes whatever jobs are waiting, runs them in
// one BEGIN IMMEDIATE transaction — each inside its own SAVEPOINT, so a failing
// job rolls back alone — and pays one COMMIT (one fsync) for the round. Under
// load many callers share a flush; alone, a caller waits for one commit.
// Reads use a separate pool of read-only connections, which WAL lets run
// beside the writer.
//
// The hookd admin commands may open the same file while `serve` runs; the
// busy timeout makes their writes wait for the writer's short rounds. Only
// one process may run deliveries on a file: `serve` opens it with
// Options.Exclusive, which holds an OS lock on "<file>.lock" for as long as
// the store is open, so a second server is refused with a clear error and a
// starting server knows every lease it finds belongs to a dead process.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hookd/hookd/internal/store"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Options configure Open.
type Options struct {
	Path        string        // database file; created when missing
	BusyTimeout time.Duration // wait for another process's lock; default 5s
	// Exclusive holds an OS lock on Path+".lock" while the store is open
	// (`hookd serve`): a second exclusive Open fails with *InUseError.
	// Register (running deliveries) needs it.
	Exclusive bool
	// Observer is told of every commit round and of the deliveries created
	// (metrics); nil: store.NopObserver.
	Observer store.Observer
}

// Store is the SQLite implementation of store.Store.
type Store struct {
	writer *sql.DB // one connection, used only by the writer goroutine
	reader *sql.DB // read-only pool

	jobs      chan *job
	quit      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error

	stmts      map[string]*sql.Stmt // the writer goroutine's prepared statements (see keepStatements)
	stats      writerStats
	purgeChunk int      // rows per purge job: bounds how long a purge holds the writer
	lock       *os.File // the exclusive lock (Options.Exclusive), nil otherwise
	relaxed    bool     // the writer connection is at synchronous=NORMAL (writer goroutine only)
	targets    *targetCache
	obs        store.Observer
}

var _ store.Store = (*Store)(nil)

// errClosed answers writes submitted after Close.
var errClosed = errors.New("sqlite store: closed")

// Open migrates the database at opt.Path and starts the writer.
func Open(ctx context.Context, opt Options) (*Store, error) {
	// The driver splits the DSN at the first '?'; a plain path (not a file:
	// URI) is passed to SQLite as is, so only '?' itself cannot be used.
	if opt.Path == "" || strings.ContainsRune(opt.Path, '?') {
		return nil, fmt.Errorf("sqlite store: invalid database path %q", opt.Path)
	}
	if opt.BusyTimeout <= 0 {
		opt.BusyTimeout = 5 * time.Second
	}
	var lock *os.File
	if opt.Exclusive {
		var err error
		if lock, err = lockFile(opt.Path + ".lock"); err != nil {
			return nil, err
		}
	}
	s, err := open(ctx, opt)
	if err != nil {
		_ = unlockFile(lock)
		return nil, err
	}
	s.lock = lock
	return s, nil
}

func open(ctx context.Context, opt Options) (*Store, error) {
	if err := migrate(ctx, migrateDSN(opt)); err != nil {
		return nil, err
	}
	writer, err := sql.Open("sqlite", writerDSN(opt))
	if err != nil {
		return nil, fmt.Errorf("sqlite store: open writer: %w", err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)
	if err := writer.PingContext(ctx); err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite store: open writer: %w", err)
	}
	reader, err := sql.Open("sqlite", readerDSN(opt))
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite store: open reader: %w", err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	reader.SetMaxOpenConns(n)
	reader.SetMaxIdleConns(n)
	if err := reader.PingContext(ctx); err != nil {
		writer.Close()
		reader.Close()
		return nil, fmt.Errorf("sqlite store: open reader: %w", err)
	}
	s := &Store{
		writer:     writer,
		reader:     reader,
		jobs:       make(chan *job),
		quit:       make(chan struct{}),
		done:       make(chan struct{}),
		purgeChunk: 1000,
		stmts:      make(map[string]*sql.Stmt),
		targets:    &targetCache{},
		obs:        opt.Observer,
	}
	if s.obs == nil {
		s.obs = store.NopObserver{}
	}
	go s.run()
	return s, nil
}

// writerDSN makes the file durable (WAL + synchronous=FULL) and makes every
// transaction take the write lock at BEGIN, so a busy file is waited for at
// the start instead of failing halfway.
func writerDSN(opt Options) string { return writableDSN(opt, true) }

func writableDSN(opt Options, foreignKeys bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(opt.BusyTimeout.Milliseconds(), 10)+")")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	if foreignKeys {
		q.Add("_pragma", "foreign_keys(ON)")
	}
	// Savepoint (statement) journals only serve rollbacks inside a round;
	// keeping them in memory saves temp-file writes (BenchmarkDeliveryCycle:
	// 67–71 against 73–74 µs of CPU per delivery). Durability is the WAL's.
	q.Add("_pragma", "temp_store(MEMORY)")
	q.Set("_txlock", "immediate")
	return opt.Path + "?" + q.Encode()
}

// migrateDSN is the writer's without foreign keys: a migration that rebuilds
// a table (SQLite's documented way to change one) must not cascade the old
// table's DROP into its children. migrate checks the keys afterwards.
func migrateDSN(opt Options) string { return writableDSN(opt, false) }

// readerDSN opens connections that refuse to write (query_only).
func readerDSN(opt Options) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(opt.BusyTimeout.Milliseconds(), 10)+")")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Add("_pragma", "query_only(ON)")
	return opt.Path + "?" + q.Encode()
}

// Ping checks that the file can be read and the writer is running.
func (s *Store) Ping(ctx context.Context) error {
	select {
	case <-s.done:
		return errClosed
	default:
	}
	var one int
	return s.reader.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// Close stops the writer after its current round and closes the database.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.quit)
		<-s.done
		s.closeErr = errors.Join(s.writer.Close(), s.reader.Close(), unlockFile(s.lock))
	})
	return s.closeErr
}

// Wakeups is nil: a single process owns the embedded store, and it wakes its
// own dispatcher in memory.
func (s *Store) Wakeups() <-chan struct{} { return nil }
