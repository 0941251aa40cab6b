package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd/internal/store"
)

// Recover accepts r: its window, cut at the call, minus what earlier
// recoveries of the webhook covered (store.Uncovered), holds the failed
// deliveries it claims, counted through the failed-rows index. Nothing is
// written per delivery, so a window of 100,000 answers at once; the
// redeliveries are created later, in chunks, by ConvertRecoveries. Calls
// for one webhook take turns on its row (FOR NO KEY UPDATE, which ingests'
// FOR KEY SHARE does not wait for), so two never claim the same rows.
func (s *Store) Recover(ctx context.Context, r store.Recovery) (int, error) {
	created := r.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	created = utc(created.Truncate(time.Microsecond))
	win := store.Range{Since: r.Since, Until: r.Until}
	if win.Until.After(created) {
		win.Until = created
	}
	var claimed int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		claimed = 0
		var status string
		err := tx.QueryRow(ctx, `SELECT status FROM webhooks WHERE id = $1 AND team_id = $2 FOR NO KEY UPDATE`,
			r.WebhookID, r.TeamID).Scan(&status)
		if err != nil {
			return mapErr("recover", err)
		}
		if status != store.WebhookActive {
			return store.ErrWebhookDisabled
		}
		rows, err := tx.Query(ctx, `SELECT since, until FROM recoveries WHERE webhook_id = $1`, r.WebhookID)
		if err != nil {
			return mapErr("recover", err)
		}
		var earlier []store.Range
		var w store.Range
		if _, err := pgx.ForEachRow(rows, []any{&w.Since, &w.Until}, func() error {
			earlier = append(earlier, w)
			return nil
		}); err != nil {
			return mapErr("recover", err)
		}
		parts := store.Uncovered(win, earlier)
		if len(parts) == 0 {
			return nil
		}
		since, until := make([]time.Time, len(parts)), make([]time.Time, len(parts))
		for i, p := range parts {
			since[i], until[i] = p.Since, p.Until
		}
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM unnest($2::timestamptz[], $3::timestamptz[]) AS p(since, until),
				LATERAL (SELECT 1 FROM deliveries d WHERE d.status = 'failed' AND d.webhook_id = $1
					AND d.completed_at >= p.since AND d.completed_at < p.until) f`,
			r.WebhookID, since, until).Scan(&claimed); err != nil {
			return mapErr("recover", err)
		}
		if claimed == 0 {
			// Nothing to redeliver, and nothing to remember: a later call
			// over the same window looks again.
			return nil
		}
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO recoveries (id, team_id, webhook_id, since, until, range_since, range_until, claimed,
				cursor_completed_at, cursor_id, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $4, $9, $10)`,
			r.ID, r.TeamID, r.WebhookID, win.Since, win.Until, since, until, claimed, uuid.Nil, created)
		queueNotify(b, s.channel)
		return mapErr("recover", tx.SendBatch(ctx, b).Close())
	})
	if err != nil {
		return 0, err
	}
	return int(claimed), nil
}

// ConvertRecoveries creates up to limit redeliveries, one recovery at a
// time: it locks the oldest unfinished recovery no other process is
// converting (SKIP LOCKED), walks its ranges in (completed_at, id) order
// from the cursor, inserts one pending delivery per failed delivery found,
// and moves the cursor in the same transaction, so a crash neither loses nor
// repeats one. A recovery whose webhook is no longer active is finished
// without creating anything (disabling cancels pending work).
func (s *Store) ConvertRecoveries(ctx context.Context, now time.Time, limit int) (int, error) {
	now = utc(now.Truncate(time.Microsecond))
	created := 0
	for created < limit {
		n, found, err := s.convertOne(ctx, now, limit-created)
		if err != nil {
			return created, err
		}
		if !found {
			break
		}
		created += n
	}
	return created, nil
}

func (s *Store) convertOne(ctx context.Context, now time.Time, limit int) (n int, found bool, err error) {
	byType := map[string]int{}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		n, found = 0, false
		clear(byType)
		var (
			id, team, webhook, curID uuid.UUID
			curAt                    time.Time
			since, until             []time.Time
			hookStatus               *string
		)
		err := tx.QueryRow(ctx, `SELECT r.id, r.team_id, r.webhook_id, r.range_since, r.range_until,
				r.cursor_completed_at, r.cursor_id, w.status
			FROM recoveries r LEFT JOIN webhooks w ON w.id = r.webhook_id
			WHERE r.finished_at IS NULL ORDER BY r.id LIMIT 1 FOR UPDATE OF r SKIP LOCKED`).
			Scan(&id, &team, &webhook, &since, &until, &curAt, &curID, &hookStatus)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		var ids, events []uuid.UUID
		var types []string
		if hookStatus != nil && *hookStatus == store.WebhookActive {
			for i := range since {
				if !curAt.Before(until[i]) || len(ids) == limit {
					continue
				}
				if curAt.Before(since[i]) {
					curAt, curID = since[i], uuid.Nil
				}
				rows, err := tx.Query(ctx, `SELECT id, event_id, event_type, completed_at FROM deliveries
					WHERE status = 'failed' AND webhook_id = $1 AND completed_at < $2 AND (completed_at, id) >= ($3, $4)
					ORDER BY completed_at, id LIMIT $5`, webhook, until[i], curAt, curID, limit-len(ids))
				if err != nil {
					return err
				}
				var row, event uuid.UUID
				var eventType string
				var at time.Time
				if _, err := pgx.ForEachRow(rows, []any{&row, &event, &eventType, &at}, func() error {
					newID, err := store.NewID(now)
					if err != nil {
						return err
					}
					ids, events, types = append(ids, newID), append(events, event), append(types, eventType)
					byType[eventType]++
					curAt, curID = at, store.IDAfter(row) // resume just after this row
					return nil
				}); err != nil {
					return err
				}
				if len(ids) == limit {
					break
				}
				curAt, curID = until[i], uuid.Nil // this range is done
			}
		}
		b := &pgx.Batch{}
		if len(ids) > 0 {
			b.Queue(`INSERT INTO deliveries (id, event_id, webhook_id, team_id, event_type, status,
					attempt_count, next_attempt_at, queue_at, created_at)
				SELECT t.id, t.event_id, $3, $4, t.event_type, 'pending', 0, $5, $5, $5
				FROM unnest($1::uuid[], $2::uuid[], $6::text[]) AS t(id, event_id, event_type)`,
				ids, events, webhook, team, now, types)
			queueCounts(b, store.CountDeltas{{WebhookID: webhook, Status: store.StatusPending}: int64(len(ids))})
			queueNotify(b, s.channel)
		}
		var finished *time.Time
		if len(ids) < limit {
			finished = &now
		}
		b.Queue(`UPDATE recoveries SET converted = converted + $2, cursor_completed_at = $3, cursor_id = $4,
			finished_at = $5 WHERE id = $1`, id, len(ids), curAt, curID, finished)
		n = len(ids)
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return 0, false, fmt.Errorf("postgres: convert recoveries: %w", err)
	}
	for eventType, k := range byType {
		s.obs.DeliveriesCreated(store.SourceRecover, eventType, k)
	}
	return n, found, nil
}
