package sqlite

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/hookd/hookd/internal/store"
)

// Purge deletes terminal deliveries made and completed before `before` with
// their attempts, finished recoveries accepted before it, then events made
// before it that no delivery refers to. Ids are UUIDv7 of the creation time,
// so "made before" is a range of the primary key: no age index is kept up to
// date on the hot path for it. It works in chunks of purgeChunk rows, each
// its own writer job, so ingests and outcomes interleave with a large purge.
// The count is every row deleted.
func (s *Store) Purge(ctx context.Context, before time.Time) (int, error) {
	cut := blob(store.MinID(before))
	total := 0
	for {
		n, more, err := s.purgeDeliveries(ctx, cut, ts(before))
		total += n
		if err != nil {
			return total, err
		}
		if !more {
			break
		}
	}
	err := s.write(ctx, func(w *wtx) error {
		n, err := affected(w.exec(`DELETE FROM recoveries WHERE id < ? AND finished_at IS NOT NULL`, cut))
		total += int(n)
		return err
	})
	if err != nil {
		return total, err
	}
	cursor := []byte{}
	for {
		n, more, err := s.purgeEvents(ctx, cut, &cursor)
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
func (s *Store) purgeDeliveries(ctx context.Context, cut []byte, before int64) (n int, more bool, err error) {
	err = s.write(ctx, func(w *wtx) error {
		n, more = 0, false
		rows, err := w.query(`SELECT id, webhook_id, status FROM deliveries
			WHERE id < ? AND status <> 'pending' AND completed_at < ? LIMIT ?`, cut, before, s.purgeChunk)
		if err != nil {
			return err
		}
		var ids []uuid.UUID
		counts := store.CountDeltas{}
		for rows.Next() {
			var id, webhook uuid.UUID
			var status string
			if err := rows.Scan(&id, &webhook, &status); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
			counts.Add(webhook, status, -1)
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(ids) == 0 {
			return err
		}
		if err := applyCounts(w, counts); err != nil {
			return err
		}
		list := idsJSON(ids)
		attempts, err := affected(w.exec(`DELETE FROM attempts WHERE delivery_id IN (SELECT unhex(value) FROM json_each(?))`, list))
		if err != nil {
			return err
		}
		deliveries, err := affected(w.exec(`DELETE FROM deliveries WHERE id IN (SELECT unhex(value) FROM json_each(?))`, list))
		if err != nil {
			return err
		}
		n, more = int(attempts+deliveries), len(ids) == s.purgeChunk
		return nil
	})
	return n, more, err
}

// purgeEvents deletes, of the next chunk of events made before cut, those no
// delivery refers to; cursor is the last id looked at, so events kept
// because a delivery still needs them are not scanned again.
func (s *Store) purgeEvents(ctx context.Context, cut []byte, cursor *[]byte) (n int, more bool, err error) {
	next := *cursor
	err = s.write(ctx, func(w *wtx) error {
		n, more, next = 0, false, *cursor
		rows, err := w.query(`SELECT id FROM events WHERE id < ? AND id > ? ORDER BY id LIMIT ?`, cut, *cursor, s.purgeChunk)
		if err != nil {
			return err
		}
		ids, err := scanIDs(rows)
		if err != nil || len(ids) == 0 {
			return err
		}
		next = blob(ids[len(ids)-1])
		deleted, err := affected(w.exec(`DELETE FROM events WHERE id IN (SELECT unhex(value) FROM json_each(?))
			AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = events.id)`, idsJSON(ids)))
		if err != nil {
			return err
		}
		n, more = int(deleted), len(ids) == s.purgeChunk
		return nil
	})
	if err == nil {
		*cursor = next
	}
	return n, more, err
}

func scanIDs(rows interface {
	Next() bool
	Scan(...any) error
	Err() error
	Close() error
}) ([]uuid.UUID, error) {
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
