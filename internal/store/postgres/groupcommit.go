package postgres

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hookd/hookd/internal/store"
)

// Group commit. One writer goroutine per Store takes every IngestEvents and
// RecordOutcomes call waiting and writes them in one transaction: N callers
// share one commit flush instead of paying one each. While a round commits,
// new callers queue on the channel; the next round takes them all.
//
// Within a round the ingest calls are merged into one ingestTx and the
// outcome calls into one outcomesTx, each under a SAVEPOINT. Should a merged
// step fail, it is rolled back to its savepoint and its calls are replayed
// one savepoint each, so the failure stays with the call that caused it.

const (
	defaultMaxRoundCalls = 256
	// maxRoundEvents bounds a round's size; a batch call may hold 1000 events.
	maxRoundEvents = 4000
	// maxRoundTries bounds reruns of a round PostgreSQL aborted as a deadlock
	// victim or serialization failure.
	maxRoundTries = 5
	// roundTimeout bounds one round; callers may have gone, the round cannot wait forever.
	roundTimeout = 60 * time.Second
)

// writeCall is one IngestEvents or RecordOutcomes call.
type writeCall struct {
	ctx      context.Context
	ingest   []*ingestItem // an ingest call, or
	outcomes []store.Outcome

	// Set by the writer before done is closed.
	results []store.IngestResult
	err     error
	done    chan struct{}
}

type writer struct {
	pool     *pgxpool.Pool
	channel  string
	maxCalls int
	calls    chan *writeCall
	quit     chan struct{}
	exited   chan struct{}
	// rounds counts committed rounds (tests observe the grouping).
	rounds atomic.Int64
	obs    store.Observer
}

func startWriter(pool *pgxpool.Pool, channel string, maxCalls int, obs store.Observer) *writer {
	if maxCalls <= 0 {
		maxCalls = defaultMaxRoundCalls
	}
	w := &writer{pool: pool, channel: channel, maxCalls: maxCalls, obs: obs,
		calls: make(chan *writeCall), quit: make(chan struct{}), exited: make(chan struct{})}
	go w.loop()
	return w
}

// stop lets a round in progress finish, then ends the writer.
func (w *writer) stop() {
	close(w.quit)
	<-w.exited
}

// submit hands c to the writer and waits for its round to commit. A caller
// whose ctx ends while waiting gets ctx's error; its writes may still commit.
func (w *writer) submit(c *writeCall) error {
	c.done = make(chan struct{})
	select {
	case w.calls <- c:
	case <-c.ctx.Done():
		return c.ctx.Err()
	case <-w.quit:
		return errClosed
	}
	select {
	case <-c.done:
		return c.err
	case <-c.ctx.Done():
		return c.ctx.Err()
	}
}

func (w *writer) loop() {
	defer close(w.exited)
	for {
		var first *writeCall
		select {
		case first = <-w.calls:
		case <-w.quit:
			return
		}
		round := w.collect(first)
		w.run(round)
		for _, c := range round {
			close(c.done)
		}
	}
}

// collect takes first and every call already waiting, up to the round limits.
func (w *writer) collect(first *writeCall) []*writeCall {
	round := []*writeCall{first}
	events := len(first.ingest) + len(first.outcomes)
	for len(round) < w.maxCalls && events < maxRoundEvents {
		select {
		case c := <-w.calls:
			round = append(round, c)
			events += len(c.ingest) + len(c.outcomes)
		default:
			return round
		}
	}
	return round
}

// run writes a round, running it again when PostgreSQL rolled it back as a
// deadlock victim (rounds of several processes can lock webhooks and
// deliveries in different orders).
func (w *writer) run(round []*writeCall) {
	live := round[:0:0]
	for _, c := range round {
		if err := c.ctx.Err(); err != nil {
			c.err = err // gone before its round began: write nothing
			continue
		}
		live = append(live, c)
	}
	if len(live) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), roundTimeout)
	defer cancel()
	opts := roundTxOptions(live)
	start := time.Now()
	var err error
	defer func() {
		w.obs.CommitRound(store.Round{Calls: len(live), Sync: opts != asyncCommit, Duration: time.Since(start), Err: err})
	}()
	for try := 1; try <= maxRoundTries; try++ {
		for _, c := range live {
			c.err, c.results = nil, nil
		}
		err = pgx.BeginTxFunc(ctx, w.pool, opts, func(tx pgx.Tx) error { return w.writeRound(ctx, tx, live) })
		if !retryable(err) {
			break
		}
		time.Sleep(time.Duration(try) * 5 * time.Millisecond)
	}
	if err != nil {
		for _, c := range live {
			c.err = fmt.Errorf("postgres: group commit: %w", err)
		}
		return
	}
	w.rounds.Add(1)
}

// asyncCommit begins a round that records outcomes only. It commits
// without waiting for the WAL flush, for at-least-once delivery survives
// losing it: an outcome lost in a database crash leaves its delivery pending
// under the lease of the attempt (or under none, if the lease was lost too),
// so the delivery is attempted again once that lease expires — a duplicate
// at worst, which receivers already handle by X-Webhook-Delivery. The WAL is
// written in order, so the next flushed commit (any ingest) makes it
// durable too. Ingest never goes this way: its 202 promises a flushed commit.
var asyncCommit = pgx.TxOptions{BeginQuery: `BEGIN; SET LOCAL synchronous_commit = off; ` + keyedPlans}

// syncCommit begins a round that holds an ingest: a normal, flushed commit.
var syncCommit = pgx.TxOptions{BeginQuery: `BEGIN; ` + keyedPlans}

// keyedPlans keeps sequential scans out of a round's plans. Every statement
// of a round finds its rows by key (a task id, a delivery id), but a pooled
// connection caches a generic plan for each statement after a few runs, and
// a plan made while a table was still small (a new deployment, or statistics
// that autovacuum has not refreshed) may scan the table: pgx's statement
// cache keeps it, and nothing re-plans it until the table is analysed. On a
// server with autovacuum off the events lookup of every ingest became a
// scan of the whole table (11 ms at 50,000 events and growing, measured).
// With sequential scans off the first plan takes the index whatever the
// table's size; a statement with no index path still runs (the setting only
// penalises scans).
const keyedPlans = `SET LOCAL enable_seqscan = off`

func roundTxOptions(round []*writeCall) pgx.TxOptions {
	for _, c := range round {
		if c.ingest != nil {
			return syncCommit
		}
	}
	return asyncCommit
}

func (w *writer) writeRound(ctx context.Context, tx pgx.Tx, round []*writeCall) error {
	var ingests, outcomes []*writeCall
	for _, c := range round {
		if c.ingest != nil {
			ingests = append(ingests, c)
		} else {
			outcomes = append(outcomes, c)
		}
	}
	if err := inSavepoints(ctx, tx, ingests, w.ingest); err != nil {
		return err
	}
	return inSavepoints(ctx, tx, outcomes, w.record)
}

// ingest runs the merged ingest of calls and hands each call its results.
func (w *writer) ingest(ctx context.Context, tx pgx.Tx, calls []*writeCall) error {
	var items []*ingestItem
	for _, c := range calls {
		items = append(items, c.ingest...)
	}
	results, err := ingestTx(ctx, tx, w.channel, items)
	if err != nil {
		return err
	}
	for _, c := range calls {
		c.results, results = results[:len(c.ingest):len(c.ingest)], results[len(c.ingest):]
	}
	return nil
}

func (w *writer) record(ctx context.Context, tx pgx.Tx, calls []*writeCall) error {
	var all []store.Outcome
	for _, c := range calls {
		all = append(all, c.outcomes...)
	}
	return outcomesTx(ctx, tx, w.channel, all)
}

// inSavepoints runs step for all calls under one savepoint; when that fails,
// it replays each call under its own savepoint and charges the failure to
// the calls that still fail. A retryable error aborts the round instead: the
// whole transaction has to start again.
func inSavepoints(ctx context.Context, tx pgx.Tx, calls []*writeCall, step func(context.Context, pgx.Tx, []*writeCall) error) error {
	if len(calls) == 0 {
		return nil
	}
	err := inSavepoint(ctx, tx, calls, step)
	switch {
	case err == nil:
		return nil
	case retryable(err):
		return err
	case len(calls) == 1:
		calls[0].err = err
		return nil
	}
	for _, c := range calls {
		one := []*writeCall{c}
		if err := inSavepoint(ctx, tx, one, step); err != nil {
			if retryable(err) {
				return err
			}
			c.err = err
		}
	}
	return nil
}

func inSavepoint(ctx context.Context, tx pgx.Tx, calls []*writeCall, step func(context.Context, pgx.Tx, []*writeCall) error) error {
	sp, err := tx.Begin(ctx) // pgx: a nested transaction is a SAVEPOINT
	if err != nil {
		return err
	}
	if err := step(ctx, sp, calls); err != nil {
		_ = sp.Rollback(ctx)
		return err
	}
	return sp.Commit(ctx)
}
