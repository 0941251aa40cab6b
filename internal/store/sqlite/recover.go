package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/hookd/hookd/internal/store"
)

// Recover accepts r: its window, cut at the call, minus what earlier
// recoveries of the webhook covered (store.Uncovered), holds the failed
// deliveries it claims, counted through the failed-rows index. Nothing is
// written per delivery, so a window of 100,000 answers at once; the
// redeliveries are created later, in chunks, by ConvertRecoveries. The
// writer runs one job at a time, so two calls never claim the same rows.
func (s *Store) Recover(ctx context.Context, r store.Recovery) (int, error) {
	var claimed int64
	err := s.write(ctx, func(w *wtx) error {
		claimed = 0
		status, err := webhookStatus(w, r.TeamID, r.WebhookID)
		if err != nil {
			return err
		}
		if status != store.WebhookActive {
			return store.ErrWebhookDisabled
		}
		created := orNow(r.CreatedAt)
		win := store.Range{Since: r.Since, Until: r.Until}
		if win.Until.After(created) {
			win.Until = created
		}
		earlier, err := recoveryWindows(w, r.WebhookID)
		if err != nil {
			return err
		}
		parts := store.Uncovered(win, earlier)
		for _, p := range parts {
			var n int64
			if err := w.queryRow(`SELECT count(*) FROM deliveries INDEXED BY deliveries_failed
				WHERE status = 'failed' AND webhook_id = ? AND completed_at >= ? AND completed_at < ?`,
				blob(r.WebhookID), ts(p.Since), ts(p.Until)).Scan(&n); err != nil {
				return err
			}
			claimed += n
		}
		if claimed == 0 {
			// Nothing to redeliver, and nothing to remember: a later call
			// over the same window looks again (a failure recorded after
			// this call, with an earlier completion time, is found then).
			return nil
		}
		ranges, err := encodeRanges(parts)
		if err != nil {
			return err
		}
		_, err = w.exec(`INSERT INTO recoveries (id, team_id, webhook_id, since, until, ranges, claimed,
				cursor_completed_at, cursor_id, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			blob(r.ID), blob(r.TeamID), blob(r.WebhookID), ts(win.Since), ts(win.Until), ranges, claimed,
			ts(win.Since), blob(uuid.Nil), ts(created))
		return uniqueToConflict(err)
	})
	return int(claimed), err
}

// recoveryWindows are the windows of the webhook's recoveries so far.
func recoveryWindows(w *wtx, webhookID uuid.UUID) ([]store.Range, error) {
	rows, err := w.query(`SELECT since, until FROM recoveries WHERE webhook_id = ?`, blob(webhookID))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Range
	for rows.Next() {
		var since, until int64
		if err := rows.Scan(&since, &until); err != nil {
			return nil, err
		}
		out = append(out, store.Range{Since: fromTS(since), Until: fromTS(until)})
	}
	return out, rows.Err()
}

func encodeRanges(parts []store.Range) (string, error) {
	pairs := make([][2]int64, len(parts))
	for i, p := range parts {
		pairs[i] = [2]int64{ts(p.Since), ts(p.Until)}
	}
	b, err := json.Marshal(pairs)
	return string(b), err
}

func decodeRanges(s string) ([][2]int64, error) {
	var pairs [][2]int64
	if err := json.Unmarshal([]byte(s), &pairs); err != nil {
		return nil, fmt.Errorf("sqlite store: recovery ranges %q: %w", s, err)
	}
	return pairs, nil
}

// ConvertRecoveries creates up to limit redeliveries in one writer job: it
// walks the oldest unfinished recovery's ranges in (completed_at, id) order
// from its cursor, inserts one pending delivery per failed delivery found,
// and moves the cursor in the same transaction, so a crash neither loses nor
// repeats one. A recovery whose webhook is no longer active is finished
// without creating anything (disabling cancels pending work).
func (s *Store) ConvertRecoveries(ctx context.Context, now time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	created := 0
	var byType map[string]int
	err := s.writeRelaxed(ctx, func(w *wtx) error {
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
	var (
		id, team, webhook, curID uuid.UUID
		curAt                    int64
		ranges                   string
		hookStat                 sql.NullString
	)
	err = w.queryRow(`SELECT r.id, r.team_id, r.webhook_id, r.ranges, r.cursor_completed_at, r.cursor_id, h.status
		FROM recoveries r LEFT JOIN webhooks h ON h.id = r.webhook_id
		WHERE r.finished_at IS NULL ORDER BY r.id LIMIT 1`).
		Scan(&id, &team, &webhook, &ranges, &curAt, &curID, &hookStat)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	finish := func(converted int) (int, bool, error) {
		_, err := w.exec(`UPDATE recoveries SET converted = converted + ?, cursor_completed_at = ?, cursor_id = ?,
			finished_at = ? WHERE id = ?`, converted, curAt, blob(curID), ts(now), blob(id))
		return converted, true, err
	}
	if hookStat.String != store.WebhookActive {
		return finish(0)
	}
	parts, err := decodeRanges(ranges)
	if err != nil {
		return 0, true, err
	}
	counts := store.CountDeltas{}
	for _, p := range parts {
		if curAt >= p[1] || n == limit {
			continue
		}
		if curAt < p[0] {
			curAt, curID = p[0], uuid.Nil
		}
		rows, err := w.query(`SELECT id, event_id, event_type, task_id, completed_at
			FROM deliveries INDEXED BY deliveries_failed
			WHERE status = 'failed' AND webhook_id = ?1 AND completed_at < ?2 AND (completed_at, id) >= (?3, ?4)
			ORDER BY completed_at, id LIMIT ?5`, blob(webhook), p[1], curAt, blob(curID), limit-n)
		if err != nil {
			return 0, true, err
		}
		type failed struct {
			id, eventID, taskID uuid.UUID
			eventType           string
			completedAt         int64
		}
		var batch []failed
		for rows.Next() {
			var f failed
			if err := rows.Scan(&f.id, &f.eventID, &f.eventType, &f.taskID, &f.completedAt); err != nil {
				rows.Close()
				return 0, true, err
			}
			batch = append(batch, f)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, true, err
		}
		for _, f := range batch {
			if _, err := insertPending(w, f.eventID, webhook, team, f.eventType, f.taskID, now, counts); err != nil {
				return 0, true, err
			}
			// The cursor is the next position: just after this row.
			curAt, curID = f.completedAt, store.IDAfter(f.id)
			byType[f.eventType]++
			n++
		}
		if n == limit {
			break
		}
		curAt, curID = p[1], uuid.Nil // this range is done
	}
	if err := applyCounts(w, counts); err != nil {
		return 0, true, err
	}
	if n < limit {
		return finish(n)
	}
	_, err = w.exec(`UPDATE recoveries SET converted = converted + ?, cursor_completed_at = ?, cursor_id = ? WHERE id = ?`,
		n, curAt, blob(curID), blob(id))
	return n, true, err
}
