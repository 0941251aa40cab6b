package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd/internal/store"
)

// candidateFactor sizes the window of due rows Admit chooses from: rows of
// full lanes are refused, so more than Limit rows are looked at.
const candidateFactor = 4

// maxCandidates bounds the window however large Limit is.
const maxCandidates = 4096

// Lease leases due deliveries in one transaction:
//  1. lock up to candidateFactor×Limit due rows of active webhooks in due
//     order, skipping rows another process is locking (SKIP LOCKED: two
//     processes never hold, hence never lease, the same row);
//  2. ask Admit about each in order;
//  3. write the lease on the admitted rows, reading in the same statement
//     the event body and the webhook's current URL and secret;
//  4. compute NextDue.
//
// The transaction commits with synchronous_commit off: a lease lost in a
// database crash only means the row is leased again, which at-least-once
// delivery allows, and leasing does not pay a flush.
func (s *Store) Lease(ctx context.Context, req store.LeaseRequest) (store.LeaseResult, error) {
	if req.Owner == "" {
		return store.LeaseResult{}, errors.New("postgres: lease: empty owner")
	}
	exclude := req.Exclude
	if exclude == nil {
		exclude = []uuid.UUID{} // NULL would exclude everything
	}
	var res store.LeaseResult
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
			return err
		}
		admitted, err := lockCandidates(ctx, tx, req, exclude)
		if err != nil {
			return err
		}
		if res.Deliveries, err = writeLeases(ctx, tx, req, admitted); err != nil {
			return err
		}
		leased := make([]uuid.UUID, len(res.Deliveries))
		for i, d := range res.Deliveries {
			leased[i] = d.DeliveryID
		}
		res.NextDue, err = nextDue(ctx, tx, req.Now, exclude, leased)
		return err
	})
	if err != nil {
		return store.LeaseResult{}, mapErr("lease", err)
	}
	return res, nil
}

// lockCandidates locks the candidate window and returns, in due order, the
// ids Admit accepted (at most Limit).
func lockCandidates(ctx context.Context, tx pgx.Tx, req store.LeaseRequest, exclude []uuid.UUID) ([]uuid.UUID, error) {
	if req.Limit <= 0 {
		return nil, nil
	}
	window := min(req.Limit*candidateFactor, maxCandidates)
	rows, err := tx.Query(ctx, `SELECT d.id, d.webhook_id
		FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id
		WHERE d.status = 'pending' AND d.next_attempt_at <= $1
			AND (d.lease_until IS NULL OR d.lease_until <= $1)
			AND w.status = 'active' AND NOT (d.webhook_id = ANY($2))
		ORDER BY d.next_attempt_at, d.id
		LIMIT $3
		FOR UPDATE OF d SKIP LOCKED`, req.Now, exclude, window)
	if err != nil {
		return nil, err
	}
	var admitted []uuid.UUID
	var id, webhookID uuid.UUID
	_, err = pgx.ForEachRow(rows, []any{&id, &webhookID}, func() error {
		if len(admitted) < req.Limit && (req.Admit == nil || req.Admit(webhookID)) {
			admitted = append(admitted, id)
		}
		return nil
	})
	return admitted, err
}

// writeLeases leases the admitted rows and returns them in admitted order
// with what a sender needs, read from the current webhook row.
func writeLeases(ctx context.Context, tx pgx.Tx, req store.LeaseRequest, admitted []uuid.UUID) ([]store.LeasedDelivery, error) {
	if len(admitted) == 0 {
		return nil, nil
	}
	rows, err := tx.Query(ctx, `UPDATE deliveries d SET lease_owner = $2, lease_until = $3
		FROM webhooks w, events e
		WHERE d.id = ANY($1) AND w.id = d.webhook_id AND e.id = d.event_id
		RETURNING d.id, d.event_id, d.webhook_id, d.team_id, d.event_type, d.attempt_count,
			e.body, w.url, w.secret_enc, d.lease_until`, admitted, req.Owner, req.Until)
	if err != nil {
		return nil, err
	}
	byID := make(map[uuid.UUID]store.LeasedDelivery, len(admitted))
	var d store.LeasedDelivery
	_, err = pgx.ForEachRow(rows, []any{&d.DeliveryID, &d.EventID, &d.WebhookID, &d.TeamID, &d.EventType,
		&d.AttemptCount, &d.Body, &d.URL, &d.SecretEnc, &d.LeaseUntil}, func() error {
		d.LeaseUntil = utc(d.LeaseUntil)
		byID[d.DeliveryID] = d
		d = store.LeasedDelivery{} // fresh byte slices for the next row
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]store.LeasedDelivery, 0, len(byID))
	for _, id := range admitted {
		if ld, ok := byID[id]; ok {
			out = append(out, ld)
		}
	}
	return out, nil
}

// nextDue is when the dispatcher should look again: the earliest due time
// of a pending row of an active, not excluded webhook that is free, or the
// earliest expiry of a live lease (a crashed owner's rows come back then).
func nextDue(ctx context.Context, tx pgx.Tx, now time.Time, exclude, leased []uuid.UUID) (*time.Time, error) {
	var next *time.Time
	err := tx.QueryRow(ctx, `SELECT LEAST(
		(SELECT d.next_attempt_at FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id
			WHERE d.status = 'pending' AND (d.lease_until IS NULL OR d.lease_until <= $1)
				AND w.status = 'active' AND NOT (d.webhook_id = ANY($2))
			ORDER BY d.next_attempt_at LIMIT 1),
		(SELECT min(d.lease_until) FROM deliveries d
			WHERE d.status = 'pending' AND d.lease_until > $1 AND NOT (d.id = ANY($3))))`,
		now, exclude, leased).Scan(&next)
	return utcPtr(next), err
}

// ReleaseLeases gives back owner's leases on ids (shutdown): the rows are
// due again at once, here or in another process, which is woken.
func (s *Store) ReleaseLeases(ctx context.Context, owner string, ids []uuid.UUID) error {
	if len(ids) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	b.Queue(`UPDATE deliveries SET lease_owner = NULL, lease_until = NULL
		WHERE id = ANY($1) AND lease_owner = $2 AND status = 'pending'`, ids, owner)
	queueNotify(b, s.channel)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return tx.SendBatch(ctx, b).Close() })
	return mapErr("release leases", err)
}
