package postgres

import (
	"context"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd/internal/store"
)

// outcomesTx records outcomes in one round trip: one statement moves every
// delivery whose lease the outcome still holds to its next state (a success
// kept on the row itself) and inserts an attempt row for every other
// attempt; a second moves the webhooks' last_delivered_at. Rows are touched
// in id order so that concurrent rounds of several processes lock in the
// same order.
func outcomesTx(ctx context.Context, tx pgx.Tx, channel string, outcomes []store.Outcome) error {
	if len(outcomes) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	queueOutcomes(b, outcomes)
	queueLastDelivered(b, outcomes)
	for _, o := range outcomes {
		if !o.Succeeded && o.NextAttemptAt != nil {
			queueNotify(b, channel) // a retry is scheduled: dispatchers recompute their sleep
			break
		}
	}
	return mapErr("record outcomes", tx.SendBatch(ctx, b).Close())
}

// queueOutcomes writes the batch as one statement over unnest'ed arrays:
// the UPDATE applies the outcomes whose lease (owner, expiry) is still held
// and returns them; an INSERT logs an attempt row for each outcome that is
// not a success so applied (failures, and any attempt whose lease was lost;
// an attempt of a delivery already purged is dropped); and the deliveries
// that ended move from pending to their status in delivery_counts.
func queueOutcomes(b *pgx.Batch, outcomes []store.Outcome) {
	order := make([]int, len(outcomes))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(x, y int) int { return compareUUID(outcomes[x].DeliveryID, outcomes[y].DeliveryID) })

	n := len(outcomes)
	ids, owners, untils := make([]uuid.UUID, 0, n), make([]string, 0, n), make([]time.Time, 0, n)
	numbers, codes, errs := make([]int32, 0, n), make([]*int32, 0, n), make([]*string, 0, n)
	states, nexts, completed := make([]string, 0, n), make([]*time.Time, 0, n), make([]*time.Time, 0, n)
	oks, started, durations, bodies := make([]bool, 0, n), make([]time.Time, 0, n), make([]int64, 0, n), make([][]byte, 0, n)
	for _, i := range order {
		o := outcomes[i]
		a := o.Attempt
		state, next, done := store.Transition(o)
		ids, owners, untils = append(ids, o.DeliveryID), append(owners, o.Owner), append(untils, o.LeaseUntil)
		numbers, codes, errs = append(numbers, int32(a.AttemptNumber)), append(codes, int32Ptr(a.StatusCode)), append(errs, cleanTextPtr(a.Error))
		states, nexts, completed = append(states, state), append(nexts, next), append(completed, done)
		oks, started, durations = append(oks, o.Succeeded), append(started, a.StartedAt), append(durations, a.DurationMS)
		bodies = append(bodies, []byte(a.ResponseBody))
	}
	b.Queue(`WITH o AS (
			SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::int[], $5::int[], $6::text[],
				$7::text[], $8::timestamptz[], $9::timestamptz[], $10::bool[], $11::timestamptz[], $12::bigint[], $13::bytea[])
				WITH ORDINALITY AS o(id, owner, until, attempt_number, status_code, error, status, next_attempt_at,
					completed_at, ok, started_at, duration_ms, response_body, n)
		), applied AS (
			UPDATE deliveries d SET
				attempt_count = o.attempt_number, last_status_code = o.status_code, last_error = o.error,
				status = o.status, next_attempt_at = o.next_attempt_at, queue_at = o.next_attempt_at,
				completed_at = o.completed_at, lease_owner = NULL,
				success_started_at = CASE WHEN o.ok THEN o.started_at END,
				success_duration_ms = CASE WHEN o.ok THEN o.duration_ms END,
				success_response = CASE WHEN o.ok THEN o.response_body END
			FROM o
			WHERE d.id = o.id AND d.status = 'pending' AND d.lease_owner = o.owner AND d.queue_at = o.until
			RETURNING o.n, d.webhook_id, o.status
		), logged AS (
			INSERT INTO attempts (delivery_id, attempt_number, started_at, duration_ms, status_code, error, response_body)
			SELECT o.id, o.attempt_number, o.started_at, o.duration_ms, o.status_code, o.error, o.response_body
			FROM o
			WHERE NOT (o.ok AND o.n IN (SELECT n FROM applied))
				AND EXISTS (SELECT 1 FROM deliveries d WHERE d.id = o.id)
			ORDER BY o.n
		), moved AS (
			SELECT webhook_id, status, count(*) AS k FROM applied WHERE status <> 'pending' GROUP BY webhook_id, status
		)
		INSERT INTO delivery_counts (webhook_id, status, n)
		SELECT webhook_id, status, n FROM (
			SELECT webhook_id, status, k AS n FROM moved
			UNION ALL SELECT webhook_id, 'pending', -sum(k)::bigint FROM moved GROUP BY webhook_id) c
		ORDER BY webhook_id, status
		ON CONFLICT (webhook_id, status) DO UPDATE SET n = delivery_counts.n + excluded.n`,
		ids, owners, untils, numbers, codes, errs, states, nexts, completed, oks, started, durations, bodies)
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
