package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/google/uuid"
)

// Purge deletes terminal deliveries completed before `before` with their
// attempts, then events created before `before` that have no delivery left.
// It works in chunks of purgeChunk rows, each its own writer job, so ingests
// and outcomes interleave with a large purge instead of waiting for it.
// The count is every row deleted: attempts, deliveries and events.
func (s *Store) Purge(ctx context.Context, before time.Time) (int, error) {
	total := 0
	for {
		n, more, err := s.purgeDeliveries(ctx, ts(before))
		total += n
		if err != nil {
			return total, err
		}
		if !more {
			break
		}
	}
	cursor := eventCursor{createdAt: -1 << 63}
	for {
		n, more, err := s.purgeEvents(ctx, ts(before), &cursor)
		total += n
		if err != nil {
			return total, err
		}
		if !more {
			return total, nil
		}
	}
}

// purgeDeliveries deletes one chunk; more reports a full chunk.
func (s *Store) purgeDeliveries(ctx context.Context, before int64) (n int, more bool, err error) {
	err = s.write(ctx, func(w *wtx) error {
		n, more = 0, false
		rows, err := w.query(`SELECT id FROM deliveries WHERE status <> 'pending' AND completed_at < ? LIMIT ?`,
			before, s.purgeChunk)
		if err != nil {
			return err
		}
		ids, err := scanIDs(rows)
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		list := idsJSON(ids)
		attempts, err := affected(w.exec(`DELETE FROM attempts WHERE delivery_id IN (SELECT value FROM json_each(?))`, list))
		if err != nil {
			return err
		}
		deliveries, err := affected(w.exec(`DELETE FROM deliveries WHERE id IN (SELECT value FROM json_each(?))`, list))
		if err != nil {
			return err
		}
		n, more = int(attempts+deliveries), len(ids) == s.purgeChunk
		return nil
	})
	return n, more, err
}

// eventCursor is where the event scan resumes: events kept because a
// delivery still needs them are not scanned again by the next chunk.
type eventCursor struct {
	createdAt int64
	id        string
}

func (s *Store) purgeEvents(ctx context.Context, before int64, c *eventCursor) (n int, more bool, err error) {
	next := *c
	err = s.write(ctx, func(w *wtx) error {
		n, more, next = 0, false, *c
		rows, err := w.query(`SELECT id, created_at FROM events
			WHERE created_at < ? AND (created_at, id) > (?, ?)
			ORDER BY created_at, id LIMIT ?`, before, c.createdAt, c.id, s.purgeChunk)
		if err != nil {
			return err
		}
		defer rows.Close()
		var ids []uuid.UUID
		for rows.Next() {
			var id uuid.UUID
			if err := rows.Scan(&id, &next.createdAt); err != nil {
				return err
			}
			next.id = id.String()
			ids = append(ids, id)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		if len(ids) == 0 {
			return nil
		}
		deleted, err := affected(w.exec(`DELETE FROM events WHERE id IN (SELECT value FROM json_each(?))
			AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = events.id)`, idsJSON(ids)))
		if err != nil {
			return err
		}
		n, more = int(deleted), len(ids) == s.purgeChunk
		return nil
	})
	if err == nil {
		*c = next
	}
	return n, more, err
}

func scanIDs(rows *sql.Rows) ([]uuid.UUID, error) {
	defer rows.Close()
	var ids []uuid.UUID
	for rows.Next() {
		var id uuid.UUID
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
