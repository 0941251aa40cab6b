package sqlite

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/hookd/hookd/internal/store"
)

// RecordOutcomes writes a batch in one job of the writer; see recordOutcome.
func (s *Store) RecordOutcomes(ctx context.Context, outcomes []store.Outcome) error {
	if len(outcomes) == 0 {
		return nil
	}
	return s.writeRelaxed(ctx, func(w *wtx) error { return recordOutcomes(w, outcomes) })
}

// recordOutcomes writes a batch one outcome at a time, in order, then moves
// each webhook's last_delivered_at once. Set-based statements (the batch as
// one JSON parameter) were measured and cost as much CPU per delivery as
// these: the time goes into B-tree work and the commit, not into statement
// overhead, and extracting JSON fields ate the difference.
func recordOutcomes(w *wtx, outcomes []store.Outcome) error {
	latest := map[uuid.UUID]time.Time{}
	counts := store.CountDeltas{}
	for _, o := range outcomes {
		if err := recordOutcome(w, o, counts); err != nil {
			return err
		}
		if o.Succeeded && o.FinishedAt.After(latest[o.WebhookID]) {
			latest[o.WebhookID] = o.FinishedAt
		}
	}
	// The endpoint did receive it, lease or not: stamp the webhook, never
	// moving the time backwards.
	for id, at := range latest {
		if _, err := w.exec(`UPDATE webhooks SET last_delivered_at = ?2
			WHERE id = ?1 AND (last_delivered_at IS NULL OR last_delivered_at < ?2)`, blob(id), ts(at)); err != nil {
			return err
		}
	}
	return applyCounts(w, counts)
}

// recordOutcome moves the delivery to its next state if the outcome's lease
// is still held, then writes an attempt row unless the outcome was a success
// that the delivery row now records itself (the common case costs one row
// write and one index change: the row leaves the queue).
func recordOutcome(w *wtx, o store.Outcome, counts store.CountDeltas) error {
	a := o.Attempt
	id := blob(o.DeliveryID)
	status, next, done := store.Transition(o)
	var succStarted, succDuration, succBody any
	if o.Succeeded {
		succStarted, succDuration, succBody = ts(a.StartedAt), a.DurationMS, a.ResponseBody
	}
	n, err := affected(w.exec(`UPDATE deliveries SET status = ?, attempt_count = ?, next_attempt_at = ?,
		queue_at = ?, lease_owner = NULL, completed_at = ?, last_status_code = ?, last_error = ?,
		success_started_at = ?, success_duration_ms = ?, success_response = ?
		WHERE id = ? AND status = 'pending' AND lease_owner = ? AND queue_at = ?`,
		status, a.AttemptNumber, tsOrNil(next), tsOrNil(next), tsOrNil(done), nullInt(a.StatusCode), nullString(a.Error),
		succStarted, succDuration, succBody, id, o.Owner, ts(o.LeaseUntil)))
	if err != nil {
		return err
	}
	if n == 1 {
		counts.Move(o.WebhookID, store.StatusPending, status, 1)
	}
	if o.Succeeded && n == 1 {
		return nil
	}
	// A delivery purged meanwhile has no log to add to.
	_, err = w.exec(`INSERT INTO attempts (delivery_id, attempt_number, started_at, duration_ms, status_code, error, response_body)
		SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE EXISTS (SELECT 1 FROM deliveries WHERE id = ?1)`,
		id, a.AttemptNumber, ts(a.StartedAt), a.DurationMS, nullInt(a.StatusCode), nullString(a.Error), a.ResponseBody)
	return err
}
