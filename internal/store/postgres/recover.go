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

// Recover claims the failed deliveries of r's window in one UPDATE that
// finds them through the failed-rows index and sets recovery_id, a column no
// index covers: fast enough to answer a window of 100,000 at once, while the
// redeliveries are created later, in chunks, by ConvertRecoveries. Two
// overlapping calls serialise on the rows: the second skips those the first
// claimed (READ COMMITTED re-checks recovery_id IS NULL after the wait).
func (s *Store) Recover(ctx context.Context, r store.Recovery) (int, error) {
	var claimed int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		status, err := webhookStatus(ctx, tx, r.TeamID, r.WebhookID)
		if err != nil {
			return err
		}
		if status != store.WebhookActive {
			return store.ErrWebhookDisabled
		}
		if !r.Since.Before(r.Until) {
			claimed = 0
			return nil
		}
		created := r.CreatedAt
		if created.IsZero() {
			created = time.Now()
		}
		if _, err := tx.Exec(ctx, `INSERT INTO recoveries (id, team_id, webhook_id, since, until, claimed,
				cursor_completed_at, cursor_id, created_at)
			VALUES ($1, $2, $3, $4, $5, 0, $4, $6, $7)`,
			r.ID, r.TeamID, r.WebhookID, r.Since, r.Until, uuid.Nil, created); err != nil {
			return mapErr("recover", err)
		}
		tag, err := tx.Exec(ctx, `UPDATE deliveries SET recovery_id = $1
			WHERE webhook_id = $2 AND status = 'failed' AND completed_at >= $3 AND completed_at < $4
				AND recovery_id IS NULL`, r.ID, r.WebhookID, r.Since, r.Until)
		if err != nil {
			return mapErr("recover", err)
		}
		claimed = tag.RowsAffected()
		if claimed == 0 {
			_, err = tx.Exec(ctx, `DELETE FROM recoveries WHERE id = $1`, r.ID)
			return mapErr("recover", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE recoveries SET claimed = $2 WHERE id = $1`, r.ID, claimed); err != nil {
			return mapErr("recover", err)
		}
		return notify(ctx, tx, s.channel)
	})
	if err != nil {
		return 0, err
	}
	return int(claimed), nil
}

// ConvertRecoveries creates up to limit redeliveries, one recovery at a
// time: it locks the oldest unfinished recovery no other process is
// converting (SKIP LOCKED), walks its window in (completed_at, id) order
// from the cursor, inserts one pending delivery per row that recovery
// claimed, and moves the cursor in the same transaction, so a crash neither
// loses nor repeats one. A recovery whose webhook is no longer active is
// finished without creating anything (disabling cancels pending work).
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
	var byType map[string]int
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		byType = map[string]int{}
		var (
			id, team, webhook, curID uuid.UUID
			until, curAt             time.Time
			hookStatus               *string
		)
		err := tx.QueryRow(ctx, `SELECT r.id, r.team_id, r.webhook_id, r.until, r.cursor_completed_at, r.cursor_id, w.status
			FROM recoveries r LEFT JOIN webhooks w ON w.id = r.webhook_id
			WHERE r.finished_at IS NULL ORDER BY r.id LIMIT 1 FOR UPDATE OF r SKIP LOCKED`).
			Scan(&id, &team, &webhook, &until, &curAt, &curID, &hookStatus)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		if hookStatus == nil || *hookStatus != store.WebhookActive {
			_, err := tx.Exec(ctx, `UPDATE recoveries SET finished_at = $2 WHERE id = $1`, id, now)
			return err
		}
		rows, err := tx.Query(ctx, `SELECT id, event_id, event_type, completed_at, recovery_id IS NOT DISTINCT FROM $1
			FROM deliveries
			WHERE status = 'failed' AND webhook_id = $2 AND completed_at < $3 AND (completed_at, id) > ($4, $5)
			ORDER BY completed_at, id LIMIT $6`, id, webhook, until, curAt, curID, limit)
		if err != nil {
			return err
		}
		var ids, events []uuid.UUID
		var types []string
		walked := 0
		var row, event uuid.UUID
		var eventType string
		var mine bool
		_, err = pgx.ForEachRow(rows, []any{&row, &event, &eventType, &curAt, &mine}, func() error {
			walked++
			curID = row
			if mine {
				newID, err := store.NewID(now)
				if err != nil {
					return err
				}
				ids, events, types = append(ids, newID), append(events, event), append(types, eventType)
				byType[eventType]++
			}
			return nil
		})
		if err != nil {
			return err
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
		if walked < limit {
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
