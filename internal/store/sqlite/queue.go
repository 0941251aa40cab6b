package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/hookd/hookd/internal/store"
)

// leaseWindow is how many due rows a lease round looks at per row it may
// lease: enough to get past rows Admit refuses, bounded so one round stays
// short.
const leaseWindow = 4

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
	if req.Limit > 0 {
		cands, err := dueCandidates(w, now, exclude, leaseWindow*req.Limit)
		if err != nil {
			return res, err
		}
		var ids []uuid.UUID
		for _, c := range cands {
			if len(res.Deliveries) == req.Limit {
				break
			}
			if req.Admit != nil && !req.Admit(c.WebhookID) {
				continue
			}
			c.LeaseUntil = fromTS(ts(req.Until))
			res.Deliveries = append(res.Deliveries, c)
			ids = append(ids, c.DeliveryID)
		}
		if len(ids) > 0 {
			if _, err := w.exec(`UPDATE deliveries SET lease_owner = ?, lease_until = ?
				WHERE id IN (SELECT value FROM json_each(?))`, req.Owner, ts(req.Until), idsJSON(ids)); err != nil {
				return res, err
			}
			if err := fillBodies(w, res.Deliveries); err != nil {
				return res, err
			}
		}
	}
	next, err := nextDue(w, now, exclude)
	if err != nil {
		return res, err
	}
	res.NextDue = next
	return res, nil
}

// dueCandidates reads due rows (all but the body) in due order through the partial index on
// pending rows; the join drops rows whose webhook is gone or disabled.
func dueCandidates(w *wtx, now int64, exclude string, limit int) ([]store.LeasedDelivery, error) {
	rows, err := w.query(`SELECT d.id, d.event_id, d.webhook_id, d.team_id, d.event_type, d.attempt_count, h.url, h.secret_enc
		FROM deliveries d JOIN webhooks h ON h.id = d.webhook_id
		WHERE d.status = 'pending' AND d.next_attempt_at <= ?1
		  AND (d.lease_until IS NULL OR d.lease_until <= ?1)
		  AND d.webhook_id NOT IN (SELECT value FROM json_each(?2))
		  AND h.status = 'active'
		ORDER BY d.next_attempt_at LIMIT ?3`, now, exclude, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.LeasedDelivery
	for rows.Next() {
		var c store.LeasedDelivery
		if err := rows.Scan(&c.DeliveryID, &c.EventID, &c.WebhookID, &c.TeamID, &c.EventType,
			&c.AttemptCount, &c.URL, &c.SecretEnc); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// fillBodies reads the bodies of the leased rows' events in one query (only
// for rows actually leased: bodies may be large).
func fillBodies(w *wtx, ls []store.LeasedDelivery) error {
	events := make([]uuid.UUID, len(ls))
	for i, l := range ls {
		events[i] = l.EventID
	}
	rows, err := w.query(`SELECT id, body FROM events WHERE id IN (SELECT value FROM json_each(?))`, idsJSON(events))
	if err != nil {
		return err
	}
	defer rows.Close()
	bodies := make(map[uuid.UUID][]byte, len(ls))
	for rows.Next() {
		var id uuid.UUID
		var body []byte
		if err := rows.Scan(&id, &body); err != nil {
			return err
		}
		bodies[id] = body
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for i := range ls {
		ls[i].Body = bodies[ls[i].EventID]
	}
	return nil
}

// nextDue is when the dispatcher should look again: the earliest unleased
// pending row outside the excluded lanes (at or before now when due rows were
// left behind), or the earliest live lease's expiry, whichever comes first.
func nextDue(w *wtx, now int64, exclude string) (*time.Time, error) {
	var unleased, leaseEnd sql.NullInt64
	err := w.queryRow(`SELECT next_attempt_at FROM deliveries
		WHERE status = 'pending' AND (lease_until IS NULL OR lease_until <= ?1)
		  AND webhook_id NOT IN (SELECT value FROM json_each(?2))
		ORDER BY next_attempt_at LIMIT 1`, now, exclude).Scan(&unleased)
	if err != nil && err != sql.ErrNoRows {
		return nil, err
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

// RecordOutcomes writes every attempt; a delivery's state changes only while
// this owner still holds its lease.
func (s *Store) RecordOutcomes(ctx context.Context, outcomes []store.Outcome) error {
	if len(outcomes) == 0 {
		return nil
	}
	return s.write(ctx, func(w *wtx) error {
		for _, o := range outcomes {
			if err := recordOutcome(w, o); err != nil {
				return err
			}
		}
		return nil
	})
}

func recordOutcome(w *wtx, o store.Outcome) error {
	a := o.Attempt
	id := o.DeliveryID.String()
	// A delivery purged meanwhile has no log to add to.
	if _, err := w.exec(`INSERT INTO attempts (delivery_id, attempt_number, started_at, duration_ms, status_code, error, response_body)
		SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE EXISTS (SELECT 1 FROM deliveries WHERE id = ?1)`,
		id, a.AttemptNumber, ts(a.StartedAt), a.DurationMS, nullInt(a.StatusCode), nullString(a.Error), a.ResponseBody); err != nil {
		return err
	}
	status, next, done := store.StatusFailed, any(nil), any(ts(o.FinishedAt))
	switch {
	case o.Succeeded:
		status = store.StatusSucceeded
	case o.NextAttemptAt != nil:
		status, next, done = store.StatusPending, ts(*o.NextAttemptAt), nil
	}
	if _, err := w.exec(`UPDATE deliveries SET status = ?, attempt_count = ?, next_attempt_at = ?, completed_at = ?,
		last_status_code = ?, last_error = ?, lease_owner = NULL, lease_until = NULL
		WHERE id = ? AND status = 'pending' AND lease_owner = ?`,
		status, a.AttemptNumber, next, done, nullInt(a.StatusCode), nullString(a.Error), id, o.Owner); err != nil {
		return err
	}
	if !o.Succeeded {
		return nil
	}
	// The endpoint did receive it, lease or not: stamp the webhook, never
	// moving the time backwards.
	_, err := w.exec(`UPDATE webhooks SET last_delivered_at = ?2
		WHERE id = (SELECT webhook_id FROM deliveries WHERE id = ?1)
		  AND (last_delivered_at IS NULL OR last_delivered_at < ?2)`, id, ts(o.FinishedAt))
	return err
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
