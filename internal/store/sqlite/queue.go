package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
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
// walking on would only read rows nobody can take now. Before this bound a
// single-webhook lease read about 4×Limit rows to lease one.
const maxRefusalRun = 8

// Lease runs in the writer, so two Lease calls are serialised and can never
// hand out the same row.
func (s *Store) Lease(ctx context.Context, req store.LeaseRequest) (store.LeaseResult, error) {
	var res store.LeaseResult
	err := s.write(ctx, func(w *wtx) error {
		var err error
		res, err = lease(w, req)
		return err
	})
	if err != nil {
		return store.LeaseResult{}, err
	}
	return res, nil
}

func lease(w *wtx, req store.LeaseRequest) (store.LeaseResult, error) {
	now := ts(req.Now)
	exclude := idsJSON(req.Exclude)
	var res store.LeaseResult
	var firstRefused sql.NullInt64
	if req.Limit > 0 {
		ids, refused, err := admitDue(w, req, now, exclude)
		if err != nil {
			return res, err
		}
		firstRefused = refused
		if len(ids) > 0 {
			list := idsJSON(ids)
			if _, err := w.exec(`UPDATE deliveries SET lease_owner = ?, lease_until = ?
				WHERE id IN (SELECT value FROM json_each(?))`, req.Owner, ts(req.Until), list); err != nil {
				return res, err
			}
			if res.Deliveries, err = leasedRows(w, ids, list, fromTS(ts(req.Until))); err != nil {
				return res, err
			}
		}
	}
	next, err := nextDue(w, now, exclude, firstRefused)
	if err != nil {
		return res, err
	}
	res.NextDue = next
	return res, nil
}

// admitDue walks due rows in due order through the partial index on pending
// rows, reading only their ids and webhooks, and returns those Admit
// accepted: at most Limit, within leaseWindow×Limit rows, stopping early after
// maxRefusalRun refusals in a row. The join drops rows whose webhook is gone
// or disabled. firstRefused is the due time of the first row Admit refused:
// the earliest unleased due row left behind, which is what nextDue would
// otherwise search for again.
func admitDue(w *wtx, req store.LeaseRequest, now int64, exclude string) (admitted []uuid.UUID, firstRefused sql.NullInt64, err error) {
	rows, err := w.query(`SELECT d.id, d.webhook_id, d.next_attempt_at
		FROM deliveries d JOIN webhooks h ON h.id = d.webhook_id
		WHERE d.status = 'pending' AND d.next_attempt_at <= ?1
		  AND (d.lease_until IS NULL OR d.lease_until <= ?1)
		  AND d.webhook_id NOT IN (SELECT value FROM json_each(?2))
		  AND h.status = 'active'
		ORDER BY d.next_attempt_at LIMIT ?3`, now, exclude, leaseWindow*req.Limit)
	if err != nil {
		return nil, firstRefused, err
	}
	defer rows.Close()
	refusals := 0
	for rows.Next() {
		var id, webhook uuid.UUID
		var due int64
		if err := rows.Scan(&id, &webhook, &due); err != nil {
			return nil, firstRefused, err
		}
		if req.Admit != nil && !req.Admit(webhook) {
			if !firstRefused.Valid {
				firstRefused = sql.NullInt64{Int64: due, Valid: true}
			}
			if refusals++; refusals >= maxRefusalRun {
				break
			}
			continue
		}
		refusals = 0
		if admitted = append(admitted, id); len(admitted) == req.Limit {
			break
		}
	}
	return admitted, firstRefused, rows.Err()
}

// leasedRows reads what a sender needs for the leased ids (list is their
// JSON array) in one query, in ids' order: the webhook's current URL and
// secret, and the event body.
func leasedRows(w *wtx, ids []uuid.UUID, list string, until time.Time) ([]store.LeasedDelivery, error) {
	rows, err := w.query(`SELECT d.id, d.event_id, d.webhook_id, d.team_id, d.event_type, d.attempt_count,
			h.url, h.secret_enc, e.body
		FROM deliveries d JOIN webhooks h ON h.id = d.webhook_id JOIN events e ON e.id = d.event_id
		WHERE d.id IN (SELECT value FROM json_each(?))`, list)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	byID := make(map[uuid.UUID]store.LeasedDelivery, len(ids))
	for rows.Next() {
		c := store.LeasedDelivery{LeaseUntil: until}
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

// nextDue is when the dispatcher should look again: the earliest unleased
// pending row outside the excluded lanes (at or before now when due rows were
// left behind), or the earliest live lease's expiry, whichever comes first.
// refused, when valid, is that earliest unleased row already (see admitDue).
func nextDue(w *wtx, now int64, exclude string, refused sql.NullInt64) (*time.Time, error) {
	unleased, leaseEnd := refused, sql.NullInt64{}
	if !unleased.Valid {
		err := w.queryRow(`SELECT next_attempt_at FROM deliveries
			WHERE status = 'pending' AND (lease_until IS NULL OR lease_until <= ?1)
			  AND webhook_id NOT IN (SELECT value FROM json_each(?2))
			ORDER BY next_attempt_at LIMIT 1`, now, exclude).Scan(&unleased)
		if err != nil && err != sql.ErrNoRows {
			return nil, err
		}
	}
	if err := w.queryRow(`SELECT min(lease_until) FROM deliveries WHERE status = 'pending' AND lease_until > ?`, now).
		Scan(&leaseEnd); err != nil {
		return nil, err
	}
	switch {
	case unleased.Valid && leaseEnd.Valid:
		return fromNullTS(sql.NullInt64{Int64: min(unleased.Int64, leaseEnd.Int64), Valid: true}), nil
	case unleased.Valid:
		return fromNullTS(unleased), nil
	default:
		return fromNullTS(leaseEnd), nil
	}
}

// ReleaseLeases clears owner's leases on the given rows so any process may
// take them at once. Rows of another owner are left alone.
func (s *Store) ReleaseLeases(ctx context.Context, owner string, ids []uuid.UUID) error {
	if len(ids) == 0 {
		return nil
	}
	return s.write(ctx, func(w *wtx) error {
		_, err := w.exec(`UPDATE deliveries SET lease_owner = NULL, lease_until = NULL
			WHERE id IN (SELECT value FROM json_each(?)) AND lease_owner = ? AND status = 'pending'`,
			idsJSON(ids), owner)
		return err
	})
}

// idsJSON encodes ids as a JSON array for json_each: one bound parameter
// however many ids.
func idsJSON(ids []uuid.UUID) string {
	strs := make([]string, len(ids))
	for i, id := range ids {
		strs[i] = id.String()
	}
	b, _ := json.Marshal(strs) // strings always encode
	return string(b)
}
