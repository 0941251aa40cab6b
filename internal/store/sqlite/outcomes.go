package sqlite

import (
	"context"

	"github.com/hookd/hookd/internal/store"
)

// RecordOutcomes writes every attempt; a delivery's state changes only while
// this owner still holds its lease.
func (s *Store) RecordOutcomes(ctx context.Context, outcomes []store.Outcome) error {
	if len(outcomes) == 0 {
		return nil
	}
	return s.write(ctx, func(w *wtx) error { return recordOutcomes(w, outcomes) })
}

// RecordOutcomesAndLease records outcomes and then leases in one job of the
// writer (store.OutcomeLeaser): one commit for both, and no alternation
// between outcome rounds and lease rounds in the single writer.
func (s *Store) RecordOutcomesAndLease(ctx context.Context, outcomes []store.Outcome, req store.LeaseRequest) (store.LeaseResult, error) {
	var res store.LeaseResult
	err := s.write(ctx, func(w *wtx) error {
		if err := recordOutcomes(w, outcomes); err != nil {
			return err
		}
		var err error
		res, err = lease(w, req)
		return err
	})
	if err != nil {
		return store.LeaseResult{}, err
	}
	return res, nil
}

var _ store.OutcomeLeaser = (*Store)(nil)

// recordOutcomes writes a batch one outcome at a time, in order. Set-based
// statements (the batch as one JSON parameter: INSERT … SELECT FROM
// json_each, UPDATE … FROM json_each) were measured with
// BenchmarkDeliveryCycle and cost as much CPU per delivery as these: the
// time goes into B-tree and index maintenance and the commit, not into
// statement overhead, and extracting JSON fields ate the difference.
func recordOutcomes(w *wtx, outcomes []store.Outcome) error {
	for _, o := range outcomes {
		if err := recordOutcome(w, o); err != nil {
			return err
		}
	}
	return nil
}

// outcomeState is the delivery state an outcome leads to: status,
// next_attempt_at and completed_at (nil for NULL).
func outcomeState(o store.Outcome) (status string, next, done *int64) {
	finished := ts(o.FinishedAt)
	switch {
	case o.Succeeded:
		return store.StatusSucceeded, nil, &finished
	case o.NextAttemptAt != nil:
		at := ts(*o.NextAttemptAt)
		return store.StatusPending, &at, nil
	default:
		return store.StatusFailed, nil, &finished
	}
}

func nullInt64(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

// recordOutcome writes one outcome with one statement per table.
func recordOutcome(w *wtx, o store.Outcome) error {
	a := o.Attempt
	id := o.DeliveryID.String()
	// A delivery purged meanwhile has no log to add to.
	if _, err := w.exec(`INSERT INTO attempts (delivery_id, attempt_number, started_at, duration_ms, status_code, error, response_body)
		SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE EXISTS (SELECT 1 FROM deliveries WHERE id = ?1)`,
		id, a.AttemptNumber, ts(a.StartedAt), a.DurationMS, nullInt(a.StatusCode), nullString(a.Error), a.ResponseBody); err != nil {
		return err
	}
	status, next, done := outcomeState(o)
	if _, err := w.exec(`UPDATE deliveries SET status = ?, attempt_count = ?, next_attempt_at = ?, completed_at = ?,
		last_status_code = ?, last_error = ?, lease_owner = NULL, lease_until = NULL
		WHERE id = ? AND status = 'pending' AND lease_owner = ?`,
		status, a.AttemptNumber, nullInt64(next), nullInt64(done), nullInt(a.StatusCode), nullString(a.Error), id, o.Owner); err != nil {
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
