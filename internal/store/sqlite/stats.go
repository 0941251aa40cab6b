package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/hookd/hookd/internal/store"
)

const (
	// liveLeasesSQL: live leases are queue rows after now, up to the longest
	// lease; so are retries falling due then, which lease_owner tells apart.
	liveLeasesSQL = `SELECT count(*) FROM deliveries INDEXED BY deliveries_queue
		WHERE status = 'pending' AND queue_at > ?1 AND queue_at <= ?2 AND lease_owner IS NOT NULL`
	// firstInQueueSQL is the queue index's first entry.
	firstInQueueSQL = `SELECT queue_at FROM deliveries INDEXED BY deliveries_queue
		WHERE status = 'pending' ORDER BY queue_at LIMIT 1`
	// oldestPendingSQL: each webhook that has pending deliveries (per
	// delivery_counts) gives its first in the log index (ids are
	// time-ordered), so this reads one index entry per such webhook.
	oldestPendingSQL = `SELECT min((SELECT d.created_at FROM deliveries d INDEXED BY deliveries_log
			WHERE d.webhook_id = c.webhook_id AND d.status = 'pending' ORDER BY d.id LIMIT 1))
		FROM delivery_counts c WHERE c.status = 'pending' AND c.n > 0`
)

// QueueStats reads everything in one read transaction of the reader pool
// (one WAL snapshot, beside the writer: a scrape never waits for a round).
func (s *Store) QueueStats(ctx context.Context, now time.Time, leaseFor time.Duration) (store.QueueStats, error) {
	var q store.QueueStats
	tx, err := s.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return q, err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT status, sum(n) FROM delivery_counts GROUP BY status`)
	if err != nil {
		return q, err
	}
	var pending int64
	for rows.Next() {
		var status string
		var n int64
		if err := rows.Scan(&status, &n); err != nil {
			rows.Close()
			return q, err
		}
		switch status {
		case store.StatusPending:
			pending = n
		case store.StatusSucceeded:
			q.Succeeded = n
		case store.StatusFailed:
			q.Failed = n
		case store.StatusCanceled:
			q.Canceled = n
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return q, err
	}
	if err := tx.QueryRowContext(ctx, liveLeasesSQL, ts(now), ts(now.Add(leaseFor))).Scan(&q.Leased); err != nil {
		return q, err
	}
	q.Pending = max(pending-q.Leased, 0)
	var first sql.NullInt64
	if err := tx.QueryRowContext(ctx, firstInQueueSQL).Scan(&first); err != nil && err != sql.ErrNoRows {
		return q, err
	}
	if first.Valid && first.Int64 <= ts(now) {
		q.OverdueSince = fromNullTS(first)
	}
	var oldest sql.NullInt64
	if err := tx.QueryRowContext(ctx, oldestPendingSQL).Scan(&oldest); err != nil {
		return q, err
	}
	q.OldestPending = fromNullTS(oldest)
	return q, nil
}
