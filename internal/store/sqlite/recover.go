package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/hookd/hookd/internal/store"
)

// Recover claims the failed deliveries of r's window in one statement that
// reads them through the failed-rows index and rewrites only the rows
// themselves (recovery_id is not indexed): fast enough to answer a window of
// 100,000 at once, while the redeliveries are created later, in chunks, by
// ConvertRecoveries. A delivery already claimed keeps its first recovery.
func (s *Store) Recover(ctx context.Context, r store.Recovery) (int, error) {
	var claimed int64
	err := s.write(ctx, func(w *wtx) error {
		status, err := webhookStatus(w, r.TeamID, r.WebhookID)
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
		if _, err := w.exec(`INSERT INTO recoveries (id, team_id, webhook_id, since, until, claimed,
				cursor_completed_at, cursor_id, created_at)
			VALUES (?1, ?2, ?3, ?4, ?5, 0, ?4, ?6, ?7)`,
			blob(r.ID), blob(r.TeamID), blob(r.WebhookID), ts(r.Since), ts(r.Until), blob(uuid.Nil),
			ts(orNow(r.CreatedAt))); err != nil {
			return uniqueToConflict(err)
		}
		claimed, err = affected(w.exec(`UPDATE deliveries INDEXED BY deliveries_failed SET recovery_id = ?1
			WHERE status = 'failed' AND webhook_id = ?2 AND completed_at >= ?3 AND completed_at < ?4
			  AND recovery_id IS NULL`, blob(r.ID), blob(r.WebhookID), ts(r.Since), ts(r.Until)))
		if err != nil {
			return err
		}
		if claimed == 0 {
			_, err = w.exec(`DELETE FROM recoveries WHERE id = ?`, blob(r.ID))
			return err
		}
		_, err = w.exec(`UPDATE recoveries SET claimed = ? WHERE id = ?`, claimed, blob(r.ID))
		return err
	})
	return int(claimed), err
}

// ConvertRecoveries creates up to limit redeliveries in one writer job: it
// walks the oldest unfinished recovery's window in (completed_at, id) order
// from its cursor, inserts one pending delivery per row that recovery
// claimed, and moves the cursor in the same transaction, so a crash neither
// loses nor repeats one. A recovery whose webhook is no longer active is
// finished without creating anything (disabling cancels pending work).
func (s *Store) ConvertRecoveries(ctx context.Context, now time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	created := 0
	var byType map[string]int
	err := s.write(ctx, func(w *wtx) error {
		created, byType = 0, map[string]int{}
		for created < limit {
			n, found, err := convertOne(w, now, limit-created, byType)
			if err != nil || !found {
				return err
			}
			created += n
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for eventType, n := range byType {
		s.obs.DeliveriesCreated(store.SourceRecover, eventType, n)
	}
	return created, nil
}

// convertOne converts up to limit rows of the oldest unfinished recovery,
// tallying them per event type in byType; found is false when there is none.
func convertOne(w *wtx, now time.Time, limit int, byType map[string]int) (n int, found bool, err error) {
	// The cursor starts at (since, the nil id), below every row of the window.
	var (
		r        store.Recovery
		curAt    int64
		curID    uuid.UUID
		since    int64
		until    int64
		hookStat sql.NullString
	)
	err = w.queryRow(`SELECT r.id, r.team_id, r.webhook_id, r.since, r.until, r.cursor_completed_at, r.cursor_id, h.status
		FROM recoveries r LEFT JOIN webhooks h ON h.id = r.webhook_id
		WHERE r.finished_at IS NULL ORDER BY r.id LIMIT 1`).
		Scan(&r.ID, &r.TeamID, &r.WebhookID, &since, &until, &curAt, &curID, &hookStat)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	if hookStat.String != store.WebhookActive {
		_, err = w.exec(`UPDATE recoveries SET finished_at = ? WHERE id = ?`, ts(now), blob(r.ID))
		return 0, true, err
	}
	rows, err := w.query(`SELECT id, event_id, event_type, task_id, completed_at, recovery_id IS ?1
		FROM deliveries INDEXED BY deliveries_failed
		WHERE status = 'failed' AND webhook_id = ?2 AND completed_at < ?3 AND (completed_at, id) > (?4, ?5)
		ORDER BY completed_at, id LIMIT ?6`,
		blob(r.ID), blob(r.WebhookID), until, curAt, blob(curID), limit)
	if err != nil {
		return 0, true, err
	}
	type claimedRow struct {
		eventID, taskID uuid.UUID
		eventType       string
	}
	var todo []claimedRow
	walked := 0
	for rows.Next() {
		var id uuid.UUID
		var c claimedRow
		var mine bool
		if err := rows.Scan(&id, &c.eventID, &c.eventType, &c.taskID, &curAt, &mine); err != nil {
			rows.Close()
			return 0, true, err
		}
		curID = id
		walked++
		if mine {
			todo = append(todo, c)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, true, err
	}
	counts := store.CountDeltas{}
	for _, c := range todo {
		if _, err := insertPending(w, c.eventID, r.WebhookID, r.TeamID, c.eventType, c.taskID, now, counts); err != nil {
			return 0, true, err
		}
		byType[c.eventType]++
	}
	if err := applyCounts(w, counts); err != nil {
		return 0, true, err
	}
	var finished any
	if walked < limit {
		finished = ts(now)
	}
	_, err = w.exec(`UPDATE recoveries SET converted = converted + ?, cursor_completed_at = ?, cursor_id = ?, finished_at = ?
		WHERE id = ?`, len(todo), curAt, blob(curID), finished, blob(r.ID))
	return len(todo), true, err
}
