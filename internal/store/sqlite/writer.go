package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/hookd/hookd/internal/store"
)

// maxRoundJobs bounds one round so a flood of callers still sees commits
// at a steady pace.
const maxRoundJobs = 128

// job is one caller's write: fn runs inside the round's transaction.
type job struct {
	ctx  context.Context
	fn   func(w *wtx) error
	done chan error // buffered: the writer never blocks on a caller
	// relaxed: the job may commit without waiting for the flush (see
	// writeRelaxed); a round flushes when any of its jobs is not relaxed.
	relaxed bool
}

// writerStats count rounds (commits) and jobs, for tests and benchmarks.
type writerStats struct {
	rounds       atomic.Int64
	jobs         atomic.Int64
	modeSwitches atomic.Int64
}

// write runs fn in the writer's next round and returns once that round has
// committed, flushed to disk (or failed). fn must not keep rows open or call
// the store. Once the writer has taken the job the caller waits for the round
// even if ctx ends: rounds are short, and the caller then knows what happened.
func (s *Store) write(ctx context.Context, fn func(w *wtx) error) error {
	return s.submit(ctx, fn, false)
}

// writeRelaxed is write for the queue's own bookkeeping (leases, outcomes,
// releases): its round, when it holds only such jobs, commits with
// synchronous=NORMAL, without the fsync. In WAL mode such a commit is
// atomic and survives the process dying (the kernel has the pages); only an
// operating-system crash or power loss can drop it, and then the deliveries
// are attempted again (at least once) — the trade PostgreSQL's
// synchronous_commit=off makes for the same writes. The fsync was about a
// third of a lease or outcome round's CPU. The next flushed commit (any
// ingest) makes everything before it durable too: the WAL is written in order.
func (s *Store) writeRelaxed(ctx context.Context, fn func(w *wtx) error) error {
	return s.submit(ctx, fn, true)
}

func (s *Store) submit(ctx context.Context, fn func(w *wtx) error, relaxed bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	j := &job{ctx: ctx, fn: fn, done: make(chan error, 1), relaxed: relaxed}
	select {
	case s.jobs <- j:
	case <-s.quit:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-j.done
}

// run is the writer goroutine. The jobs channel is unbuffered: callers that
// arrive while a round commits wait in send, and the next round drains all
// of them at once.
func (s *Store) run() {
	defer close(s.done)
	batch := make([]*job, 0, maxRoundJobs)
	for {
		select {
		case j := <-s.jobs:
			batch = append(batch[:0], j)
		case <-s.quit:
			return
		}
	drain:
		for len(batch) < maxRoundJobs {
			select {
			case j := <-s.jobs:
				batch = append(batch, j)
			default:
				break drain
			}
		}
		s.round(batch)
	}
}

// round runs batch in one transaction, reports it to the observer and
// answers every job after COMMIT.
func (s *Store) round(batch []*job) {
	start := time.Now()
	errs := make([]error, len(batch))
	err := s.commitRound(batch, errs)
	s.obs.CommitRound(store.Round{Calls: len(batch), Sync: !s.relaxed, Duration: time.Since(start), Err: err})
	for i, j := range batch {
		j.done <- errs[i]
	}
}

// commitRound runs the round's transaction, setting each job's answer in
// errs; it returns the error that failed the whole round, if any.
func (s *Store) commitRound(batch []*job, errs []error) error {
	if err := s.setSynchronous(batch); err != nil {
		err = fmt.Errorf("sqlite store: synchronous: %w", err)
		fill(errs, err)
		return err
	}
	// Statements run under the writer's own context: interrupting one
	// statement would roll back the whole shared transaction.
	tx, err := s.writer.BeginTx(context.Background(), nil)
	if err != nil {
		err = fmt.Errorf("sqlite store: begin: %w", err)
		fill(errs, err)
		return err
	}
	w := &wtx{tx: tx, cached: s.stmts}
	for i, j := range batch {
		if err := j.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		jobErr, fatal := w.runJob(j.fn)
		errs[i] = jobErr
		if jobErr != nil {
			s.targets.clear() // the job may have cached what its rollback undid
		}
		if fatal != nil {
			_ = tx.Rollback()
			s.targets.clear()
			fillNil(errs[:i+1], fatal)
			fill(errs[i+1:], fatal)
			return fatal
		}
	}
	if err := tx.Commit(); err != nil {
		s.targets.clear()
		err = fmt.Errorf("sqlite store: commit: %w", err)
		fillNil(errs, err)
		return err
	}
	s.keepStatements(w.fresh)
	s.stats.rounds.Add(1)
	s.stats.jobs.Add(int64(len(batch)))
	return nil
}

// setSynchronous flushes the round's commit unless every job in it is
// relaxed. The pragma is per connection and applies from the next commit;
// it is only issued when the mode changes.
func (s *Store) setSynchronous(batch []*job) error {
	relaxed := true
	for _, j := range batch {
		relaxed = relaxed && j.relaxed
	}
	if relaxed == s.relaxed {
		return nil
	}
	mode := "FULL"
	if relaxed {
		mode = "NORMAL"
	}
	if _, err := s.writer.ExecContext(context.Background(), "PRAGMA synchronous = "+mode); err != nil {
		return err
	}
	s.relaxed = relaxed
	s.stats.modeSwitches.Add(1)
	return nil
}

func fill(errs []error, err error) {
	for i := range errs {
		errs[i] = err
	}
}

// fillNil replaces the successes: they were not committed after all.
func fillNil(errs []error, err error) {
	for i := range errs {
		if errs[i] == nil {
			errs[i] = err
		}
	}
}

// wtx is the round's transaction with a statement cache: a statement used
// by many jobs in the round is prepared once, and one prepared in an earlier
// round (cached) is reused without parsing the SQL again.
type wtx struct {
	tx     *sql.Tx
	stmts  map[string]*sql.Stmt
	cached map[string]*sql.Stmt // the writer's, prepared on its one connection
	fresh  []string             // prepared in this round only: keep them afterwards
}

// maxKeptStatements bounds the writer's statement cache. Every query of the
// store is a constant, so the bound is a safety net, not a working limit.
const maxKeptStatements = 256

// keepStatements prepares queries on the writer's connection once the round
// released it (the only connection cannot prepare while a transaction holds
// it), so later rounds skip SQLite's parser: preparing was about a tenth of
// the writer's time under load. A failure only means the query is prepared
// per round again.
func (s *Store) keepStatements(queries []string) {
	for _, q := range queries {
		if _, ok := s.stmts[q]; ok || len(s.stmts) >= maxKeptStatements {
			continue
		}
		if st, err := s.writer.PrepareContext(context.Background(), q); err == nil {
			s.stmts[q] = st
		}
	}
}

// runJob runs fn inside a savepoint. jobErr is fn's own failure (its writes
// are rolled back); fatal means the transaction itself is unusable.
func (w *wtx) runJob(fn func(*wtx) error) (jobErr, fatal error) {
	if _, err := w.exec("SAVEPOINT job"); err != nil {
		return err, err
	}
	jobErr = callSafely(fn, w)
	if jobErr != nil {
		if _, err := w.exec("ROLLBACK TO job"); err != nil {
			return jobErr, err
		}
	}
	if _, err := w.exec("RELEASE job"); err != nil {
		return jobErr, err
	}
	return jobErr, nil
}

// callSafely turns a panic in a job into its error, so one bad job cannot
// kill the writer (and with it every later write).
func callSafely(fn func(*wtx) error, w *wtx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("sqlite store: write job panicked: %v", r)
		}
	}()
	return fn(w)
}

func (w *wtx) stmt(q string) (*sql.Stmt, error) {
	if st, ok := w.stmts[q]; ok {
		return st, nil
	}
	var st *sql.Stmt
	if shared, ok := w.cached[q]; ok {
		st = w.tx.StmtContext(context.Background(), shared)
	} else {
		var err error
		if st, err = w.tx.PrepareContext(context.Background(), q); err != nil {
			return nil, err
		}
		w.fresh = append(w.fresh, q)
	}
	if w.stmts == nil {
		w.stmts = make(map[string]*sql.Stmt)
	}
	w.stmts[q] = st
	return st, nil
}

func (w *wtx) exec(q string, args ...any) (sql.Result, error) {
	st, err := w.stmt(q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(context.Background(), args...)
}

func (w *wtx) query(q string, args ...any) (*sql.Rows, error) {
	st, err := w.stmt(q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(context.Background(), args...)
}

func (w *wtx) queryRow(q string, args ...any) *sql.Row {
	st, err := w.stmt(q)
	if err != nil {
		// The direct call fails the same way and carries the error to Scan.
		return w.tx.QueryRowContext(context.Background(), q, args...)
	}
	return st.QueryRowContext(context.Background(), args...)
}

// affected is the row count of an exec, or the error.
func affected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
