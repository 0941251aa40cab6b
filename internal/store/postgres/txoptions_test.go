package postgres

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd/internal/store"
)

// TestOnlyOutcomeRoundsCommitAsync: a round with any ingest call keeps the
// default (flushed) commit; a round of outcomes alone does not wait.
func TestOnlyOutcomeRoundsCommitAsync(t *testing.T) {
	outcome := &writeCall{outcomes: []store.Outcome{{}}}
	ingest := &writeCall{ingest: []*ingestItem{{}}}
	if got := roundTxOptions([]*writeCall{outcome, ingest}); got != syncCommit {
		t.Errorf("mixed round begins with %q, want %q (a flushed commit)", got.BeginQuery, syncCommit.BeginQuery)
	}
	if got := roundTxOptions([]*writeCall{ingest}); got != syncCommit {
		t.Errorf("ingest round begins with %q, want %q (a flushed commit)", got.BeginQuery, syncCommit.BeginQuery)
	}
	if got := roundTxOptions([]*writeCall{outcome, outcome}); got != asyncCommit {
		t.Errorf("outcome round begins with %q, want %q", got.BeginQuery, asyncCommit.BeginQuery)
	}
}

// TestTxSettingsAreLocal: the lease transaction's setup and the write
// rounds' begin queries set what they promise inside their transaction and
// leave the pooled connection as it was.
func TestTxSettingsAreLocal(t *testing.T) {
	s := TestStore(t)
	ctx := t.Context()
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	settings := func(q interface {
		QueryRow(context.Context, string, ...any) pgx.Row
	}) (sync, sort string) {
		t.Helper()
		var seqscan, jit string
		if err := q.QueryRow(ctx, `SELECT current_setting('synchronous_commit'), current_setting('enable_sort'),
			current_setting('enable_seqscan'), current_setting('jit')`).Scan(&sync, &sort, &seqscan, &jit); err != nil {
			t.Fatal(err)
		}
		return sync, sort + "/" + seqscan + "/" + jit
	}

	b := &pgx.Batch{}
	for _, sql := range leaseSetup {
		b.Queue(sql)
	}
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		t.Fatal(err)
	}
	if sync, sort := settings(conn); sync != "off" || sort != "off/off/off" {
		t.Errorf("lease transaction: synchronous_commit %s, enable_sort/enable_seqscan/jit %s; want off, off/off/off", sync, sort)
	}
	if _, err := conn.Exec(ctx, `COMMIT`); err != nil {
		t.Fatal(err)
	}
	if sync, sort := settings(conn); sync != "on" || sort != "on/on/on" {
		t.Errorf("after the lease: synchronous_commit %s, enable_sort/enable_seqscan/jit %s; want on, on/on/on", sync, sort)
	}

	err = pgx.BeginTxFunc(ctx, conn, asyncCommit, func(tx pgx.Tx) error {
		if sync, sort := settings(tx); sync != "off" || sort != "on/off/on" {
			t.Errorf("outcome round: synchronous_commit %s, enable_sort/enable_seqscan/jit %s; want off, on/off/on", sync, sort)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if sync, sort := settings(conn); sync != "on" || sort != "on/on/on" {
		t.Errorf("after the outcome round: synchronous_commit %s, enable_sort/enable_seqscan/jit %s; want on, on/on/on", sync, sort)
	}

	err = pgx.BeginTxFunc(ctx, conn, syncCommit, func(tx pgx.Tx) error {
		if sync, sort := settings(tx); sync != "on" || sort != "on/off/on" {
			t.Errorf("ingest round: synchronous_commit %s, enable_sort/enable_seqscan/jit %s; want on, on/off/on", sync, sort)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if sync, sort := settings(conn); sync != "on" || sort != "on/on/on" {
		t.Errorf("after the ingest round: synchronous_commit %s, enable_sort/enable_seqscan/jit %s; want on, on/on/on", sync, sort)
	}
}
