package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd/internal/store"
)

// purgeChunk bounds each purge statement, so retention never holds locks on
// a large part of the log at once.
const purgeChunk = 1000

const deliveryColumns = `d.id, d.event_id, d.webhook_id, d.team_id, d.event_type, e.task_id, d.status,
	d.attempt_count, d.next_attempt_at, d.last_status_code, d.last_error, d.created_at, d.completed_at`

// ListDeliveries lists a webhook's deliveries, newest first (id order: the
// ids are UUIDv7 of the creation time). The total comes from
// delivery_counts; the page's ids from the log index alone (see logRange),
// one status's range or the four, each cut at the page's end, merged; then
// the page's rows. Neither depends on the size of the log beyond the page's
// offset. A task filter starts from the task's event instead. A webhook
// that is not in the team (or deleted) is ErrNotFound.
//
// One round trip: a read-only transaction (the total and the page see the
// same snapshot) whose statements are all sent at once, with the plans
// pinned (see queueLogSetup).
func (s *Store) ListDeliveries(ctx context.Context, teamID, webhookID uuid.UUID, f store.DeliveryFilter, p store.Page) ([]store.Delivery, int, error) {
	if err := checkPage(p); err != nil {
		return nil, 0, err
	}
	b := &pgx.Batch{}
	queueLogSetup(b, f.TaskID == uuid.Nil)
	b.Queue(`SELECT 1 FROM webhooks WHERE id = $1 AND team_id = $2`, webhookID, teamID)
	switch {
	case f.TaskID != uuid.Nil:
		b.Queue(taskDeliveries+`SELECT count(*) FROM d`, f.TaskID, webhookID, f.Status)
		b.Queue(taskDeliveries+`SELECT `+deliveryColumns+` FROM d JOIN events e ON e.id = d.event_id
			ORDER BY d.id DESC LIMIT $4 OFFSET $5`, f.TaskID, webhookID, f.Status, p.Size, p.Offset())
	case f.Status != "":
		b.Queue(countStatus, webhookID, f.Status)
		b.Queue(pageOf(logRange("$2")+` LIMIT $3 OFFSET $4`, countStatus), webhookID, f.Status, p.Size, p.Offset())
	default:
		b.Queue(countAll, webhookID)
		b.Queue(pageOf(mergedLog+` LIMIT $3 OFFSET $4`, countAll), webhookID, p.Offset()+p.Size, p.Size, p.Offset())
	}
	// Sent with the rest: however the reading below ends, the server ends
	// the transaction before the connection goes back to the pool.
	b.Queue(`COMMIT`)
	br := s.pool.SendBatch(ctx, b)
	defer br.Close()
	for range logSetupStatements {
		if _, err := br.Exec(); err != nil {
			return nil, 0, mapErr("list deliveries", err)
		}
	}
	var one, total int
	if err := br.QueryRow().Scan(&one); err != nil {
		return nil, 0, mapErr("list deliveries", err)
	}
	if err := br.QueryRow().Scan(&total); err != nil {
		return nil, 0, mapErr("count deliveries", err)
	}
	rows, err := br.Query()
	if err != nil {
		return nil, 0, mapErr("list deliveries", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Delivery, error) { return scanDelivery(r) })
	if err != nil {
		return nil, 0, mapErr("list deliveries", err)
	}
	return list, total, nil
}

// logSetupStatements is how many statements queueLogSetup queues.
const logSetupStatements = 2

// queueLogSetup opens ListDeliveries' read-only transaction. No page of the
// log is worth a scan of the table, whatever the statistics say. For a page
// of the log index, bitmap scans are off too (see logRange), not for a
// task's deliveries, which a bitmap of deliveries_event finds well. (Sorts
// stay on: with them off, the planner avoided the sort of a page's 20 rows
// by joining them to a walk of the whole primary key, seconds.)
func queueLogSetup(b *pgx.Batch, logIndexPage bool) {
	bitmaps := "on"
	if logIndexPage {
		bitmaps = "off"
	}
	b.Queue(`BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`)
	b.Queue(`SELECT set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', $1, true)`, bitmaps)
}

// taskDeliveries is d, the deliveries of the task ($1) to the webhook ($2)
// in the status $3 (empty: any): the task's deliveries are found through
// its event (a handful of rows), materialized, and only then filtered. Left
// to itself the planner may also read the webhook's range of the log index
// and AND the two bitmaps: with no statistics yet (a table filled faster
// than autovacuum analyses it), it did so for a log of 1,000,000 deliveries,
// ~450 ms to find one row.
const taskDeliveries = `WITH task AS MATERIALIZED (
		SELECT * FROM deliveries WHERE event_id IN (SELECT id FROM events WHERE task_id = $1)),
	d AS (SELECT * FROM task WHERE webhook_id = $2 AND ($3 = '' OR status = $3)) `

// countAll and countStatus are the webhook's ($1) deliveries, in all and in
// the status $2.
const (
	countAll    = `SELECT coalesce(sum(n), 0) FROM delivery_counts WHERE webhook_id = $1`
	countStatus = `SELECT coalesce(sum(n), 0) FROM delivery_counts WHERE webhook_id = $1 AND status = $2`
)

// pageOf reads the rows of a page whose ids ids selects, newest first,
// unless the offset ($4) is at or beyond the count of its rows: that test
// runs first (a one-time filter), so a page past the end reads nothing
// instead of every range to its end.
func pageOf(ids, count string) string {
	return `SELECT ` + deliveryColumns + ` FROM (` + ids + `) p
		JOIN deliveries d ON d.id = p.id JOIN events e ON e.id = d.event_id
		WHERE $4 < (` + count + `) ORDER BY d.id DESC`
}

// logRange is the ids of the webhook's ($1) deliveries in one status, newest
// first, read from the log index (webhook_id, status, id) alone: an
// index-only scan, so an offset costs index entries, not table rows.
//
// Bitmap and sequential scans are off while it runs, which leaves the walk
// in index order to the page's end: with no statistics yet (a table that
// filled faster than autovacuum analyses it) the planner expects a few
// dozen rows in a range and read all of them through a bitmap, then sorted
// them — the 902,500 succeeded deliveries of a 1,000,000 log for page 500,
// a second; and where a range holds about as many rows as the page's end
// it may scan the table and sort it (cheap only in a small table).
//
// The status is matched as a range, not with "=", on purpose. With
// "status = x" the planner treats status as a constant, so "ORDER BY id" can
// also be served by the primary key, filtering out the other statuses; for
// the most common status it costs both paths alike and may take the primary
// key — which reads every newer delivery of another status first: when the
// newest 40,000 deliveries of a log are pending (an endpoint down), page 1
// of "succeeded" read 40,000 table rows. Ordered by (status, id) under a
// range, only the log index gives the order.
func logRange(status string) string {
	return `SELECT id FROM deliveries WHERE webhook_id = $1 AND status BETWEEN ` + status + ` AND ` + status + `
		ORDER BY status DESC, id DESC`
}

// mergedLog is the ids of the webhook's ($1) whole log newest first: the
// four status ranges, each cut at the page's end ($2 = offset + limit: no
// range can contribute more) and merged (MergeAppend). Each range is
// re-sorted by id alone first, which its rows already are (the range holds
// one status), so the sort only checks their order; measured at page 500
// of a 1,000,000 log, 9 ms against 15 ms for a top-N sort of all four. (The
// planner may still sort the four ranges together where it expects few
// rows, as in a small table without statistics: the cost is then that of
// the top-N sort.)
var mergedLog = func() string {
	var b strings.Builder
	for i, status := range store.Statuses {
		if i > 0 {
			b.WriteString(" UNION ALL ")
		}
		b.WriteString(`(SELECT id FROM (` + logRange(`'`+status+`'`) + ` LIMIT $2) r ORDER BY id DESC)`)
	}
	b.WriteString(` ORDER BY id DESC`)
	return b.String()
}()

// GetDelivery returns one delivery with its request body and attempts: the
// attempt rows, then the success kept on the delivery row, if any.
func (s *Store) GetDelivery(ctx context.Context, teamID, webhookID, deliveryID uuid.UUID) (store.DeliveryDetail, error) {
	b := &pgx.Batch{}
	b.Queue(`SELECT `+deliveryColumns+`, e.body, d.success_started_at, d.success_duration_ms, d.success_response
		FROM deliveries d JOIN events e ON e.id = d.event_id
		JOIN webhooks w ON w.id = d.webhook_id AND w.team_id = d.team_id
		WHERE d.id = $1 AND d.webhook_id = $2 AND d.team_id = $3`, deliveryID, webhookID, teamID)
	b.Queue(`SELECT attempt_number, started_at, duration_ms, status_code, error, response_body
		FROM attempts WHERE delivery_id = $1 ORDER BY attempt_number, id`, deliveryID)
	br := s.pool.SendBatch(ctx, b)
	defer br.Close()
	var dd store.DeliveryDetail
	var succStarted *time.Time
	var succDuration *int64
	var succBody []byte
	var err error
	dd.Delivery, err = scanDelivery(br.QueryRow(), &dd.RequestBody, &succStarted, &succDuration, &succBody)
	if err != nil {
		return store.DeliveryDetail{}, mapErr("get delivery", err)
	}
	dd.Attempts = []store.Attempt{}
	var a store.Attempt
	var code *int
	var body []byte
	_, err = pgx.ForEachRow(mustQuery(br), []any{&a.AttemptNumber, &a.StartedAt, &a.DurationMS, &code, &a.Error, &body}, func() error {
		a.DeliveryID, a.StartedAt, a.StatusCode, a.ResponseBody = deliveryID, utc(a.StartedAt), code, string(body)
		dd.Attempts = append(dd.Attempts, a)
		a, code = store.Attempt{}, nil
		return nil
	})
	if err != nil {
		return store.DeliveryDetail{}, mapErr("get attempts", err)
	}
	if succStarted != nil {
		success := store.Attempt{DeliveryID: deliveryID, AttemptNumber: dd.AttemptCount, StartedAt: utc(*succStarted),
			StatusCode: dd.LastStatusCode, ResponseBody: string(succBody)}
		if succDuration != nil {
			success.DurationMS = *succDuration
		}
		dd.Attempts = append(dd.Attempts, success)
	}
	return dd, nil
}

// Redeliver queues a new delivery of the delivery's event to the same webhook,
// due now, with the full retry schedule ahead of it.
func (s *Store) Redeliver(ctx context.Context, teamID, webhookID, deliveryID uuid.UUID, now time.Time) (uuid.UUID, error) {
	if now.IsZero() {
		now = time.Now()
	}
	now = utc(now.Truncate(time.Microsecond))
	id, err := store.NewID(now)
	if err != nil {
		return uuid.Nil, fmt.Errorf("postgres: redeliver: %w", err)
	}
	var eventType string
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		status, err := webhookStatus(ctx, tx, teamID, webhookID)
		if err != nil {
			return err
		}
		var one int
		err = tx.QueryRow(ctx, `SELECT 1 FROM deliveries WHERE id = $1 AND webhook_id = $2 AND team_id = $3`,
			deliveryID, webhookID, teamID).Scan(&one)
		if err != nil {
			return mapErr("get delivery", err)
		}
		if status != store.WebhookActive {
			return store.ErrWebhookDisabled
		}
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO deliveries (id, event_id, webhook_id, team_id, event_type, status,
				attempt_count, next_attempt_at, queue_at, created_at)
			SELECT $1, event_id, webhook_id, team_id, event_type, 'pending', 0, $3, $3, $3
			FROM deliveries WHERE id = $2 RETURNING event_type`, id, deliveryID, now).
			QueryRow(func(row pgx.Row) error { return row.Scan(&eventType) })
		queueCounts(b, store.CountDeltas{{WebhookID: webhookID, Status: store.StatusPending}: 1})
		queueNotify(b, s.channel)
		return mapErr("redeliver", tx.SendBatch(ctx, b).Close())
	})
	if err != nil {
		return uuid.Nil, err
	}
	s.obs.DeliveriesCreated(store.SourceRedeliver, eventType, 1)
	return id, nil
}

// CreateTestDelivery writes the test event ev and one delivery of it to the
// webhook, due at ev.CreatedAt.
func (s *Store) CreateTestDelivery(ctx context.Context, teamID, webhookID uuid.UUID, ev store.NewEvent) (uuid.UUID, error) {
	if ev.CreatedAt.IsZero() {
		ev.CreatedAt = time.Now()
	}
	ev.CreatedAt = utc(ev.CreatedAt.Truncate(time.Microsecond))
	id, err := store.NewID(ev.CreatedAt)
	if err != nil {
		return uuid.Nil, fmt.Errorf("postgres: test delivery: %w", err)
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		status, err := webhookStatus(ctx, tx, teamID, webhookID)
		if err != nil {
			return err
		}
		if status != store.WebhookActive {
			return store.ErrWebhookDisabled
		}
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO events (id, team_id, task_id, event_type, task_status, body, delivery_count, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, 1, $7)`,
			ev.ID, teamID, ev.TaskID, ev.EventType, ev.TaskStatus, ev.Body, ev.CreatedAt)
		b.Queue(`INSERT INTO deliveries (id, event_id, webhook_id, team_id, event_type, status,
				attempt_count, next_attempt_at, queue_at, created_at)
			VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6, $6)`,
			id, ev.ID, webhookID, teamID, ev.EventType, ev.CreatedAt)
		queueCounts(b, store.CountDeltas{{WebhookID: webhookID, Status: store.StatusPending}: 1})
		queueNotify(b, s.channel)
		return mapErr("test delivery", tx.SendBatch(ctx, b).Close())
	})
	if err != nil {
		return uuid.Nil, err
	}
	s.obs.DeliveriesCreated(store.SourceTest, ev.EventType, 1)
	return id, nil
}

// webhookStatus returns the status of the team's webhook, holding it
// FOR KEY SHARE so a disable waits and then cancels what tx inserts.
func webhookStatus(ctx context.Context, tx pgx.Tx, teamID, webhookID uuid.UUID) (string, error) {
	var status string
	err := tx.QueryRow(ctx, `SELECT status FROM webhooks WHERE id = $1 AND team_id = $2 FOR KEY SHARE`,
		webhookID, teamID).Scan(&status)
	return status, mapErr("get webhook", err)
}

func notify(ctx context.Context, tx pgx.Tx, channel string) error {
	_, err := tx.Exec(ctx, `SELECT pg_notify($1, '')`, channel)
	return mapErr("notify", err)
}

// Purge deletes, in chunks of purgeChunk deliveries each committed alone,
// the terminal deliveries made and completed before before with their
// attempts, then finished recoveries accepted before it, then the events made
// before it that no delivery refers to any more. Ids are UUIDv7 of the
// creation time, so "made before" is a range of the primary key: no age
// index is kept up to date on the hot path for retention. It returns the
// number of rows deleted.
func (s *Store) Purge(ctx context.Context, before time.Time) (int, error) {
	cut := store.MinID(before)
	total := 0
	for {
		var deliveries, attempts int
		err := s.pool.QueryRow(ctx, `WITH doomed AS (
				SELECT id FROM deliveries WHERE id < $1 AND status <> 'pending' AND completed_at < $2 LIMIT $3),
			gone_attempts AS (DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM doomed) RETURNING 1),
			gone AS (DELETE FROM deliveries WHERE id IN (SELECT id FROM doomed) RETURNING webhook_id, status),
			counted AS (INSERT INTO delivery_counts (webhook_id, status, n)
				SELECT webhook_id, status, -count(*) FROM gone GROUP BY webhook_id, status ORDER BY webhook_id, status
				ON CONFLICT (webhook_id, status) DO UPDATE SET n = delivery_counts.n + excluded.n)
			SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM gone_attempts)`,
			cut, before, purgeChunk).Scan(&deliveries, &attempts)
		if err != nil {
			return total, mapErr("purge deliveries", err)
		}
		total += deliveries + attempts
		if deliveries < purgeChunk {
			break
		}
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM recoveries WHERE id < $1 AND finished_at IS NOT NULL`, cut)
	if err != nil {
		return total, mapErr("purge recoveries", err)
	}
	total += int(tag.RowsAffected())
	after := uuid.Nil
	for {
		var seen int
		var last *uuid.UUID
		var deleted int
		err := s.pool.QueryRow(ctx, `WITH chunk AS (
				SELECT id FROM events WHERE id < $1 AND id > $2 ORDER BY id LIMIT $3),
			gone AS (DELETE FROM events WHERE id IN (SELECT c.id FROM chunk c
				WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = c.id)) RETURNING 1)
			SELECT (SELECT count(*) FROM chunk), (SELECT id FROM chunk ORDER BY id DESC LIMIT 1), (SELECT count(*) FROM gone)`,
			cut, after, purgeChunk).Scan(&seen, &last, &deleted)
		if err != nil {
			return total, mapErr("purge events", err)
		}
		total += deleted
		if seen < purgeChunk || last == nil {
			return total, nil
		}
		after = *last
	}
}

func scanDelivery(row pgx.Row, extra ...any) (store.Delivery, error) {
	var d store.Delivery
	dest := append([]any{&d.ID, &d.EventID, &d.WebhookID, &d.TeamID, &d.EventType, &d.TaskID, &d.Status,
		&d.AttemptCount, &d.NextAttemptAt, &d.LastStatusCode, &d.LastError, &d.CreatedAt, &d.CompletedAt}, extra...)
	err := row.Scan(dest...)
	d.CreatedAt = utc(d.CreatedAt)
	d.NextAttemptAt, d.CompletedAt = utcPtr(d.NextAttemptAt), utcPtr(d.CompletedAt)
	return d, err
}
