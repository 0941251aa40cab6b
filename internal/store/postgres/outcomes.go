package postgres

import (
	"context"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd/internal/store"
)

// outcomesTx records outcomes in one round trip: every attempt row, then the
// delivery states of those whose lease is still held, then the webhooks'
// last_delivered_at. Rows are touched in id order so that concurrent rounds
// of several processes lock in the same order.
func outcomesTx(ctx context.Context, tx pgx.Tx, channel string, outcomes []store.Outcome) error {
	if len(outcomes) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	queueAttempts(b, outcomes)
	queueStates(b, outcomes)
	queueLastDelivered(b, outcomes)
	for _, o := range outcomes {
		if !o.Succeeded && o.NextAttemptAt != nil {
			queueNotify(b, channel) // a retry is scheduled: dispatchers recompute their sleep
			break
		}
	}
	return mapErr("record outcomes", tx.SendBatch(ctx, b).Close())
}

// queueAttempts inserts every attempt, lease held or not; an attempt of a
// delivery already purged has nothing left to attach to and is dropped.
func queueAttempts(b *pgx.Batch, outcomes []store.Outcome) {
	n := len(outcomes)
	ids, numbers := make([]uuid.UUID, 0, n), make([]int32, 0, n)
	started, durations := make([]time.Time, 0, n), make([]int64, 0, n)
	codes, errs, bodies := make([]*int32, 0, n), make([]*string, 0, n), make([][]byte, 0, n)
	for _, o := range outcomes {
		a := o.Attempt
		ids, numbers = append(ids, o.DeliveryID), append(numbers, int32(a.AttemptNumber))
		started, durations = append(started, a.StartedAt), append(durations, a.DurationMS)
		codes, errs = append(codes, int32Ptr(a.StatusCode)), append(errs, cleanTextPtr(a.Error))
		bodies = append(bodies, []byte(a.ResponseBody))
	}
	b.Queue(`INSERT INTO attempts (delivery_id, attempt_number, started_at, duration_ms, status_code, error, response_body)
		SELECT a.* FROM unnest($1::uuid[], $2::int[], $3::timestamptz[], $4::bigint[], $5::int[], $6::text[], $7::bytea[])
			AS a(delivery_id, attempt_number, started_at, duration_ms, status_code, error, response_body)
		WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.id = a.delivery_id)`,
		ids, numbers, started, durations, codes, errs, bodies)
}

// queueStates moves each delivery whose lease the outcome's owner still
// holds to its next state and clears the lease. Only the first outcome of a
// delivery can hold the lease (it clears it), so later ones are left out.
func queueStates(b *pgx.Batch, outcomes []store.Outcome) {
	sorted := slices.Clone(outcomes)
	slices.SortStableFunc(sorted, func(x, y store.Outcome) int { return compareUUID(x.DeliveryID, y.DeliveryID) })
	sorted = slices.CompactFunc(sorted, func(x, y store.Outcome) bool { return x.DeliveryID == y.DeliveryID })

	n := len(sorted)
	ids, owners, numbers := make([]uuid.UUID, 0, n), make([]string, 0, n), make([]int32, 0, n)
	codes, errs, states := make([]*int32, 0, n), make([]*string, 0, n), make([]string, 0, n)
	nexts, completed := make([]*time.Time, 0, n), make([]*time.Time, 0, n)
	for _, o := range sorted {
		state, next, done := nextState(o)
		ids, owners, numbers = append(ids, o.DeliveryID), append(owners, o.Owner), append(numbers, int32(o.Attempt.AttemptNumber))
		codes, errs = append(codes, int32Ptr(o.Attempt.StatusCode)), append(errs, cleanTextPtr(o.Attempt.Error))
		states, nexts, completed = append(states, state), append(nexts, next), append(completed, done)
	}
	b.Queue(`UPDATE deliveries d SET
			attempt_count = o.attempt_number, last_status_code = o.status_code, last_error = o.error,
			status = o.status, next_attempt_at = o.next_attempt_at, completed_at = o.completed_at,
			lease_owner = NULL, lease_until = NULL
		FROM unnest($1::uuid[], $2::text[], $3::int[], $4::int[], $5::text[], $6::text[], $7::timestamptz[], $8::timestamptz[])
			AS o(id, owner, attempt_number, status_code, error, status, next_attempt_at, completed_at)
		WHERE d.id = o.id AND d.status = 'pending' AND d.lease_owner = o.owner`,
		ids, owners, numbers, codes, errs, states, nexts, completed)
}

// nextState is the delivery state an outcome leads to.
func nextState(o store.Outcome) (status string, next, completed *time.Time) {
	finished := o.FinishedAt
	switch {
	case o.Succeeded:
		return store.StatusSucceeded, nil, &finished
	case o.NextAttemptAt != nil:
		return store.StatusPending, o.NextAttemptAt, nil
	default:
		return store.StatusFailed, nil, &finished
	}
}

// queueLastDelivered moves each webhook's last_delivered_at to its latest
// success, never backwards (outcomes of several processes arrive in any
// order). A success counts even when the lease was lost: the receiver got it.
func queueLastDelivered(b *pgx.Batch, outcomes []store.Outcome) {
	latest := map[uuid.UUID]time.Time{}
	for _, o := range outcomes {
		if o.Succeeded && o.FinishedAt.After(latest[o.WebhookID]) {
			latest[o.WebhookID] = o.FinishedAt
		}
	}
	if len(latest) == 0 {
		return
	}
	ids := make([]uuid.UUID, 0, len(latest))
	for id := range latest {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, compareUUID)
	times := make([]time.Time, 0, len(ids))
	for _, id := range ids {
		times = append(times, latest[id])
	}
	b.Queue(`UPDATE webhooks w SET last_delivered_at = o.at
		FROM unnest($1::uuid[], $2::timestamptz[]) AS o(id, at)
		WHERE w.id = o.id AND (w.last_delivered_at IS NULL OR w.last_delivered_at < o.at)`, ids, times)
}

func int32Ptr(p *int) *int32 {
	if p == nil {
		return nil
	}
	v := int32(*p)
	return &v
}

func compareUUID(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) }
