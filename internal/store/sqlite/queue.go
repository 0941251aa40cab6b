package sqlite

import (
	"context"
	"database/sql"
	"encoding/hex"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hookd/hookd/internal/store"
)

// leaseWindow is how many due rows a lease round may look at per row it may
// lease: enough to get past rows Admit refuses, bounded so one round stays
// short.
const leaseWindow = 4

// maxRefusalRun ends a round's walk after this many refusals in a row. Such
// a run is almost always one lane that filled up during the round (a single
// busy webhook with a long queue); the next round excludes it up front, so
// walking on would only read rows nobody can take now.
const maxRefusalRun = 8

// Lease runs in the writer, so two Lease calls are serialised and can never
// hand out the same row.
func (s *Store) Lease(ctx context.Context, req store.LeaseRequest) (store.LeaseResult, error) {
	var res store.LeaseResult
	err := s.writeRelaxed(ctx, func(w *wtx) error {
		var err error
		res, err = lease(w, req)
		return err
	})
	if err != nil {
		return store.LeaseResult{}, err
	}
	return res, nil
}

// lease walks the queue index: a free row's queue_at is its due time and a
// leased row's is its lease expiry, so "queue_at <= now" is exactly the rows
// that are due and nobody holds. Leasing moves queue_at to the lease expiry.
func lease(w *wtx, req store.LeaseRequest) (store.LeaseResult, error) {
	now := ts(req.Now)
	exclude := idsJSON(req.Exclude)
	var res store.LeaseResult
	var left sql.NullInt64
	if req.Limit > 0 {
		ids, firstLeft, err := admitDue(w, req, now, exclude)
		if err != nil {
			return res, err
		}
		left = firstLeft
		if len(ids) > 0 {
			list := idsJSON(ids)
			until := ts(req.Until)
			if _, err := w.exec(`UPDATE deliveries SET queue_at = ?, lease_owner = ?
				WHERE id IN (SELECT unhex(value) FROM json_each(?))`, until, req.Owner, list); err != nil {
				return res, err
			}
			if res.Deliveries, err = leasedRows(w, ids, list, req.Owner, fromTS(until)); err != nil {
				return res, err
			}
		}
	}
	if left.Valid {
		res.NextDue = fromNullTS(left)
		return res, nil
	}
	next, err := nextInQueue(w, now)
	if err != nil {
		return res, err
	}
	res.NextDue = next
	return res, nil
}

// admitDue walks due rows in queue order, reading only their ids and
// webhooks from the index, and returns those Admit accepted: at most Limit,
// within leaseWindow×Limit rows, stopping early after maxRefusalRun refusals
// in a row. The join drops rows whose webhook is gone or disabled.
// firstLeft is the queue position of the first due row the walk left behind
// (refused, or past the limit): due work remains, the caller looks again
// when a lane has room.
func admitDue(w *wtx, req store.LeaseRequest, now int64, exclude string) (admitted []uuid.UUID, firstLeft sql.NullInt64, err error) {
	rows, err := w.query(`SELECT d.id, d.webhook_id, d.queue_at
		FROM deliveries d INDEXED BY deliveries_queue JOIN webhooks h ON h.id = d.webhook_id
		WHERE d.status = 'pending' AND d.queue_at <= ?1
		  AND d.webhook_id NOT IN (SELECT unhex(value) FROM json_each(?2))
		  AND h.status = 'active'
		ORDER BY d.queue_at LIMIT ?3`, now, exclude, leaseWindow*req.Limit+1)
	if err != nil {
		return nil, firstLeft, err
	}
	defer rows.Close()
	refusals := 0
	for rows.Next() {
		var id, webhook uuid.UUID
		var at int64
		if err := rows.Scan(&id, &webhook, &at); err != nil {
			return nil, firstLeft, err
		}
		if len(admitted) == req.Limit || (req.Admit != nil && !req.Admit(webhook)) {
			if !firstLeft.Valid {
				firstLeft = sql.NullInt64{Int64: at, Valid: true}
			}
			if len(admitted) == req.Limit {
				break
			}
			if refusals++; refusals >= maxRefusalRun {
				break
			}
			continue
		}
		refusals = 0
		admitted = append(admitted, id)
	}
	return admitted, firstLeft, rows.Err()
}

// leasedRows reads what a sender needs for the leased ids (list is their
// JSON array) in one query, in ids' order: the webhook's current URL and
// secret, and the event body.
func leasedRows(w *wtx, ids []uuid.UUID, list, owner string, until time.Time) ([]store.LeasedDelivery, error) {
	rows, err := w.query(`SELECT d.id, d.event_id, d.webhook_id, d.team_id, d.event_type, d.attempt_count,
			h.url, h.secret_enc, e.body
		FROM deliveries d JOIN webhooks h ON h.id = d.webhook_id JOIN events e ON e.id = d.event_id
		WHERE d.id IN (SELECT unhex(value) FROM json_each(?))`, list)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	byID := make(map[uuid.UUID]store.LeasedDelivery, len(ids))
	for rows.Next() {
		c := store.LeasedDelivery{Owner: owner, LeaseUntil: until}
		if err := rows.Scan(&c.DeliveryID, &c.EventID, &c.WebhookID, &c.TeamID, &c.EventType,
			&c.AttemptCount, &c.URL, &c.SecretEnc, &c.Body); err != nil {
			return nil, err
		}
		byID[c.DeliveryID] = c
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]store.LeasedDelivery, 0, len(ids))
	for _, id := range ids {
		if c, ok := byID[id]; ok {
			out = append(out, c)
		}
	}
	return out, nil
}

// nextInQueue is the earliest queue position after now: a retry falling due,
// or a lease that may expire (the last resort of crash recovery). Nil when
// nothing is pending.
func nextInQueue(w *wtx, now int64) (*time.Time, error) {
	var next sql.NullInt64
	err := w.queryRow(`SELECT queue_at FROM deliveries INDEXED BY deliveries_queue
		WHERE status = 'pending' AND queue_at > ? ORDER BY queue_at LIMIT 1`, now).Scan(&next)
	if err != nil && err != sql.ErrNoRows {
		return nil, err
	}
	return fromNullTS(next), nil
}

// ReleaseLeases clears owner's leases on the given rows so any process may
// take them at once. Rows of another owner are left alone.
func (s *Store) ReleaseLeases(ctx context.Context, owner string, ids []uuid.UUID) error {
	if len(ids) == 0 {
		return nil
	}
	return s.writeRelaxed(ctx, func(w *wtx) error {
		_, err := w.exec(`UPDATE deliveries SET queue_at = next_attempt_at, lease_owner = NULL
			WHERE id IN (SELECT unhex(value) FROM json_each(?)) AND lease_owner = ? AND status = 'pending'`,
			idsJSON(ids), owner)
		return err
	})
}

// ReleaseLeasesExcept gives back every live lease of owner but keep's. Live
// leases are the queue rows after now, so only the in-flight part of the
// queue and the scheduled retries are read.
func (s *Store) ReleaseLeasesExcept(ctx context.Context, owner string, keep []uuid.UUID) (int, error) {
	var n int64
	err := s.writeRelaxed(ctx, func(w *wtx) error {
		var err error
		n, err = affected(w.exec(`UPDATE deliveries INDEXED BY deliveries_queue
			SET queue_at = next_attempt_at, lease_owner = NULL
			WHERE status = 'pending' AND queue_at > ? AND lease_owner = ?
			  AND id NOT IN (SELECT unhex(value) FROM json_each(?))`, ts(time.Now()), owner, idsJSON(keep)))
		return err
	})
	return int(n), err
}

// idsJSON encodes ids as a JSON array of hex strings for json_each (unhex
// turns each back into the stored 16 bytes): one bound parameter however
// many ids.
func idsJSON(ids []uuid.UUID) string {
	var b strings.Builder
	b.Grow(2 + len(ids)*35)
	b.WriteByte('[')
	var h [32]byte
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		hex.Encode(h[:], id[:])
		b.WriteByte('"')
		b.Write(h[:])
		b.WriteByte('"')
	}
	b.WriteByte(']')
	return b.String()
}
