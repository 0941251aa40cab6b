package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd/internal/store"
)

// candidateFactor sizes the window of due rows Admit may choose from: rows
// of lanes that fill during the round are refused, so more than Limit rows
// may be looked at.
const candidateFactor = 4

// maxCandidates bounds the window however large Limit is.
const maxCandidates = 4096

// The window is read through a cursor, a page at a time, so that a round
// locks and ships only the rows it needs: with one busy webhook, Limit is
// every free worker slot (~240) but its lane has room for a few rows, and
// locking a 960-row window cost ~1 ms per round. The first page is
// firstPage rows (less if the window is smaller); each next one is twice
// the previous. Reading stops once Limit rows are admitted, the
// window is exhausted, or maxRefusalRun rows in a row were refused (their
// lanes filled; the next round excludes them up front).
const (
	firstPage     = 32
	maxRefusalRun = 8
)

// leaseSetup opens the lease transaction in the same round trip as the
// first page of candidates. synchronous_commit is off: a lease lost in a
// database crash only means the row is leased again, which at-least-once
// delivery allows, so leasing does not wait for a flush.
//
// The rest pins the plans. Every statement of the transaction reaches its
// rows through an index (the due-order walk, primary keys, the live-lease
// index), but the planner chooses from statistics, and deliveries fills
// faster than autovacuum analyses it: with a stale row count it sorted every
// pending row to return a window of 32 (~10 ms per round at 30,000 pending
// rows against ~0.1 ms for the walk), and in some runs it scanned the whole
// table for the dozen ids of the lease UPDATE, which halved throughput.
// enable_sort and enable_seqscan off leave it the index paths; jit off,
// because a plan that has to sort or scan all the same carries the penalty
// cost of the disabled node, far above jit_above_cost, and compiling it took
// 140 ms.
var leaseSetup = []string{`BEGIN`, `SELECT set_config('synchronous_commit', 'off', true),
	set_config('enable_sort', 'off', true), set_config('enable_seqscan', 'off', true),
	set_config('jit', 'off', true)`}

// Lease leases due deliveries in one transaction of two round trips (on a
// connection of its own, so that statements of both ends of the
// transaction can share a round trip):
//  1. begin, then lock up to candidateFactor×Limit due rows of active
//     webhooks in due order, skipping rows another process is locking
//     (SKIP LOCKED: two processes never hold, hence never lease, the same
//     row), and ask Admit about each in order (a long window may take more
//     round trips, see firstPage);
//  2. write the lease on the admitted rows, reading in the same statement
//     the event body and the webhook's current URL and secret; compute
//     NextDue unless the window already showed it; commit.
//
// On any error the transaction is rolled back and nothing is leased.
func (s *Store) Lease(ctx context.Context, req store.LeaseRequest) (store.LeaseResult, error) {
	if req.Owner == "" {
		return store.LeaseResult{}, errors.New("postgres: lease: empty owner")
	}
	exclude := req.Exclude
	if exclude == nil {
		exclude = []uuid.UUID{} // NULL would exclude everything
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return store.LeaseResult{}, mapErr("lease", err)
	}
	// A connection still inside a transaction when released (the rollback
	// below failed too) is closed by the pool, never reused.
	defer conn.Release()
	res, err := leaseOn(ctx, conn.Conn(), req, exclude)
	if err != nil {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
		defer cancel()
		_, _ = conn.Exec(rctx, `ROLLBACK`)
		return store.LeaseResult{}, mapErr("lease", err)
	}
	return res, nil
}

// rollbackTimeout bounds the rollback of a failed lease transaction.
const rollbackTimeout = 5 * time.Second

func leaseOn(ctx context.Context, conn *pgx.Conn, req store.LeaseRequest, exclude []uuid.UUID) (store.LeaseResult, error) {
	b := &pgx.Batch{}
	for _, sql := range leaseSetup {
		b.Queue(sql)
	}
	w, err := lockCandidates(ctx, conn, b, req, exclude)
	if err != nil {
		return store.LeaseResult{}, err
	}
	return writeLeases(ctx, conn, req, w)
}

// window is what the candidate walk found.
type window struct {
	admitted []uuid.UUID // in due order, at most Limit
	// firstLeft is the due time of the earliest row locked but not admitted
	// (Admit refused it, or Limit was reached), nil if none was.
	firstLeft *time.Time
}

// candidatesSQL is the window: pending rows of active webhooks outside $2
// whose queue position has come (a free row's is its due time, a leased
// row's its lease expiry, so no live lease is ever among them), in queue
// order, at most $3, each locked as it is read; rows another transaction is
// locking are skipped, so two processes never hold, hence never lease, the
// same row.
const candidatesSQL = `SELECT d.id, d.webhook_id, d.queue_at
	FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id
	WHERE d.status = 'pending' AND d.queue_at <= $1
		AND w.status = 'active' AND NOT (d.webhook_id = ANY($2))
	ORDER BY d.queue_at, d.id
	LIMIT $3
	FOR UPDATE OF d SKIP LOCKED`

// lockCandidates sends b (the transaction's beginning) with the first page
// of the candidate window, walked in due order through a cursor that locks
// each row it fetches, and asks Admit about each row.
func lockCandidates(ctx context.Context, conn *pgx.Conn, b *pgx.Batch, req store.LeaseRequest, exclude []uuid.UUID) (window, error) {
	var w window
	if req.Limit <= 0 {
		return w, sendAll(ctx, conn, b)
	}
	size := min(req.Limit*candidateFactor, maxCandidates)
	b.Queue(`DECLARE lease_candidates NO SCROLL CURSOR FOR `+candidatesSQL, req.Now, exclude, size)
	page := min(size, firstPage)
	fetched, run := 0, 0
	for {
		b.Queue(`FETCH FORWARD ` + strconv.Itoa(page) + ` FROM lease_candidates`)
		n, err := fetchCandidates(ctx, conn, b, req, &w, &run)
		if err != nil {
			return w, err
		}
		fetched += n
		if n < page || fetched >= size || len(w.admitted) >= req.Limit || run >= maxRefusalRun {
			return w, nil
		}
		b = &pgx.Batch{}
		page = min(size-fetched, 2*page)
	}
}

// fetchCandidates sends b, whose last statement fetches a page of the
// window, and asks Admit about each row; it returns how many rows came.
// run counts the refusals since the last admitted row.
func fetchCandidates(ctx context.Context, conn *pgx.Conn, b *pgx.Batch, req store.LeaseRequest, w *window, run *int) (int, error) {
	br := conn.SendBatch(ctx, b)
	defer br.Close()
	for range b.Len() - 1 {
		if _, err := br.Exec(); err != nil {
			return 0, err
		}
	}
	var id, webhookID uuid.UUID
	var due time.Time
	n := 0
	_, err := pgx.ForEachRow(mustQuery(br), []any{&id, &webhookID, &due}, func() error {
		n++
		if len(w.admitted) < req.Limit && (req.Admit == nil || req.Admit(webhookID)) {
			w.admitted = append(w.admitted, id)
			*run = 0
			return nil
		}
		*run++
		if w.firstLeft == nil {
			left := utc(due)
			w.firstLeft = &left
		}
		return nil
	})
	if err != nil {
		return n, err
	}
	return n, br.Close()
}

// sendAll sends b and checks every statement succeeded.
func sendAll(ctx context.Context, conn *pgx.Conn, b *pgx.Batch) error {
	return conn.SendBatch(ctx, b).Close()
}

// writeLeases leases the admitted rows and returns them in admitted order
// with what a sender needs, read from the current webhook row, and NextDue;
// then it commits, all in one round trip.
//
// When the window left a row behind, that row is NextDue: due work remains
// (rows locked by another process are that process's to lease). Otherwise
// NextDue is asked in the same round trip as the lease.
func writeLeases(ctx context.Context, conn *pgx.Conn, req store.LeaseRequest, w window) (store.LeaseResult, error) {
	res := store.LeaseResult{NextDue: w.firstLeft}
	b := &pgx.Batch{}
	if len(w.admitted) > 0 {
		b.Queue(`UPDATE deliveries d SET lease_owner = $2, queue_at = $3
			FROM webhooks w, events e
			WHERE d.id = ANY($1) AND w.id = d.webhook_id AND e.id = d.event_id
			RETURNING d.id, d.event_id, d.webhook_id, d.team_id, d.event_type, d.attempt_count,
				e.body, w.url, w.secret_enc, d.lease_owner, d.queue_at`, w.admitted, req.Owner, req.Until)
	}
	if w.firstLeft == nil {
		queueNextDue(b, req.Now)
	}
	b.Queue(`COMMIT`)
	br := conn.SendBatch(ctx, b)
	defer br.Close()
	if len(w.admitted) > 0 {
		var err error
		if res.Deliveries, err = scanLeased(mustQuery(br), w.admitted); err != nil {
			return res, err
		}
	}
	if w.firstLeft == nil {
		if err := br.QueryRow().Scan(&res.NextDue); err != nil {
			return res, err
		}
		res.NextDue = utcPtr(res.NextDue)
	}
	// A transaction that failed earlier would answer COMMIT with ROLLBACK;
	// any failure has surfaced above, but check what ended it.
	tag, err := br.Exec()
	if err != nil {
		return res, err
	}
	if tag.String() != "COMMIT" {
		return res, fmt.Errorf("lease transaction ended with %s", tag)
	}
	return res, br.Close()
}

func scanLeased(rows pgx.Rows, admitted []uuid.UUID) ([]store.LeasedDelivery, error) {
	byID := make(map[uuid.UUID]store.LeasedDelivery, len(admitted))
	var d store.LeasedDelivery
	_, err := pgx.ForEachRow(rows, []any{&d.DeliveryID, &d.EventID, &d.WebhookID, &d.TeamID, &d.EventType,
		&d.AttemptCount, &d.Body, &d.URL, &d.SecretEnc, &d.Owner, &d.LeaseUntil}, func() error {
		d.LeaseUntil = utc(d.LeaseUntil)
		byID[d.DeliveryID] = d
		d = store.LeasedDelivery{} // fresh byte slices for the next row
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]store.LeasedDelivery, 0, len(byID))
	for _, id := range admitted {
		if ld, ok := byID[id]; ok {
			out = append(out, ld)
		}
	}
	return out, nil
}

// queueNextDue asks when the dispatcher should look again when the window
// left nothing due behind: the earliest queue position after now, a retry
// falling due or a lease that may expire (the last resort of crash
// recovery). One step into the queue index.
func queueNextDue(b *pgx.Batch, now time.Time) {
	b.Queue(`SELECT (SELECT queue_at FROM deliveries WHERE status = 'pending' AND queue_at > $1
		ORDER BY queue_at LIMIT 1)`, now)
}

// ReleaseLeases gives back owner's leases on ids (shutdown): the rows are
// due again at once, here or in another process, which is woken.
func (s *Store) ReleaseLeases(ctx context.Context, owner string, ids []uuid.UUID) error {
	if len(ids) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	b.Queue(`UPDATE deliveries SET queue_at = next_attempt_at, lease_owner = NULL
		WHERE id = ANY($1) AND lease_owner = $2 AND status = 'pending'`, ids, owner)
	queueNotify(b, s.channel)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return tx.SendBatch(ctx, b).Close() })
	return mapErr("release leases", err)
}

// ReleaseLeasesExcept gives back every live lease of owner but keep's. Live
// leases are queue positions after now, so only the in-flight part of the
// queue index and the scheduled retries are read.
func (s *Store) ReleaseLeasesExcept(ctx context.Context, owner string, keep []uuid.UUID) (int, error) {
	if keep == nil {
		keep = []uuid.UUID{}
	}
	var n int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE deliveries SET queue_at = next_attempt_at, lease_owner = NULL
			WHERE status = 'pending' AND queue_at > $1 AND lease_owner = $2 AND NOT (id = ANY($3))`,
			time.Now(), owner, keep)
		if err != nil {
			return err
		}
		if n = tag.RowsAffected(); n > 0 {
			return notify(ctx, tx, s.channel)
		}
		return nil
	})
	return int(n), mapErr("release leases", err)
}
