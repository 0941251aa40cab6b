package postgres

import (
	"context"
	"time"

	"github.com/hookd/hookd/internal/store"
)

// queueStatsSQL is one statement, so one snapshot. The totals come from
// delivery_counts; live leases are the queue rows after now, up to the
// longest lease, that have an owner (the others there are retries falling
// due); the most overdue
// row is the queue index's first entry; the oldest pending delivery is the
// first log-index entry (ids are time-ordered) of each webhook that has
// pending ones per delivery_counts, one index probe per such webhook.
const queueStatsSQL = `
WITH counts AS (SELECT status, sum(n)::bigint AS n FROM delivery_counts GROUP BY status)
SELECT
	coalesce((SELECT n FROM counts WHERE status = 'pending'), 0),
	coalesce((SELECT n FROM counts WHERE status = 'succeeded'), 0),
	coalesce((SELECT n FROM counts WHERE status = 'failed'), 0),
	coalesce((SELECT n FROM counts WHERE status = 'canceled'), 0),
	(SELECT count(*) FROM deliveries WHERE status = 'pending' AND queue_at > $1 AND queue_at <= $2 AND lease_owner IS NOT NULL),
	(SELECT queue_at FROM deliveries WHERE status = 'pending' ORDER BY queue_at LIMIT 1),
	(SELECT min(o.created_at) FROM delivery_counts c CROSS JOIN LATERAL (
		SELECT d.created_at FROM deliveries d
		WHERE d.webhook_id = c.webhook_id AND d.status = 'pending' ORDER BY d.id LIMIT 1) o
	 WHERE c.status = 'pending' AND c.n > 0)`

// QueueStats reads store.QueueStats in one statement.
func (s *Store) QueueStats(ctx context.Context, now time.Time, leaseFor time.Duration) (store.QueueStats, error) {
	var q store.QueueStats
	var pending int64
	var first, oldest *time.Time
	err := s.pool.QueryRow(ctx, queueStatsSQL, now, now.Add(leaseFor)).Scan(&pending, &q.Succeeded, &q.Failed, &q.Canceled,
		&q.Leased, &first, &oldest)
	if err != nil {
		return store.QueueStats{}, mapErr("queue stats", err)
	}
	q.Pending = max(pending-q.Leased, 0)
	if first != nil && !first.After(now) {
		q.OverdueSince = utcPtr(first)
	}
	q.OldestPending = utcPtr(oldest)
	return q, nil
}
