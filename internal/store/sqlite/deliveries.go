package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hookd/hookd/internal/store"
)

const deliveryColumns = `d.id, d.event_id, d.webhook_id, d.team_id, d.event_type, d.task_id, d.status, d.attempt_count,
	d.next_attempt_at, d.last_status_code, d.last_error, d.created_at, d.completed_at`

// ListDeliveries reads the webhook check, the count and the page in one
// read transaction, so the total matches the rows. The total comes from
// delivery_counts; a page's ids are read from the log index alone, newest
// first (id order: UUIDv7), one status's range or the four merged, and only
// the page's rows are then read from the table, so neither depends on the
// size of the log beyond the page's offset, and the offset costs index
// entries, not rows. A task filter starts from the task's events instead (a
// handful of rows).
func (s *Store) ListDeliveries(ctx context.Context, teamID, webhookID uuid.UUID, f store.DeliveryFilter, p store.Page) ([]store.Delivery, int, error) {
	tx, err := s.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, 0, err
	}
	defer tx.Rollback()
	if ok, err := exists(tx.QueryRowContext(ctx, `SELECT 1 FROM webhooks WHERE id = ? AND team_id = ?`,
		blob(webhookID), blob(teamID))); err != nil || !ok {
		if err == nil {
			err = store.ErrNotFound
		}
		return nil, 0, err
	}
	limit, offset := limits(p)
	var (
		total int
		query string
		args  []any
	)
	switch {
	case f.TaskID != uuid.Nil:
		const from = `FROM events e JOIN deliveries d ON d.event_id = e.id
			WHERE e.task_id = ?1 AND d.webhook_id = ?2 AND (?3 = '' OR d.status = ?3)`
		args = []any{blob(f.TaskID), blob(webhookID), f.Status}
		if err := tx.QueryRowContext(ctx, `SELECT count(*) `+from, args...).Scan(&total); err != nil {
			return nil, 0, err
		}
		query = `SELECT ` + deliveryColumns + ` ` + from + ` ORDER BY d.id DESC LIMIT ?4 OFFSET ?5`
	case f.Status != "":
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(sum(n), 0) FROM delivery_counts
			WHERE webhook_id = ? AND status = ?`, blob(webhookID), f.Status).Scan(&total); err != nil {
			return nil, 0, err
		}
		args = []any{blob(webhookID), f.Status}
		query = statusPage
	default:
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(sum(n), 0) FROM delivery_counts WHERE webhook_id = ?`,
			blob(webhookID)).Scan(&total); err != nil {
			return nil, 0, err
		}
		args = []any{blob(webhookID)}
		query = mergedPage
	}
	out := []store.Delivery{}
	if offset >= total || limit == 0 {
		return out, total, nil
	}
	rows, err := tx.QueryContext(ctx, query, append(args, limit, offset)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, d)
	}
	return out, total, rows.Err()
}

// statusPage is a page (?3 rows after ?4) of the webhook's (?1) deliveries
// in one status (?2), newest first: the ids from the log index alone, then
// those rows.
const statusPage = `SELECT ` + deliveryColumns + ` FROM deliveries d WHERE d.id IN (
	SELECT id FROM deliveries INDEXED BY deliveries_log
	WHERE webhook_id = ?1 AND status = ?2 ORDER BY id DESC LIMIT ?3 OFFSET ?4)
	ORDER BY d.id DESC`

// mergedPage is a page (?2 rows after ?3) of the webhook's (?1) whole log,
// newest first: the ids from mergedLog, then those rows.
var mergedPage = `WITH page (id) AS (` + mergedLog + ` LIMIT ?2 OFFSET ?3)
	SELECT ` + deliveryColumns + ` FROM page JOIN deliveries d ON d.id = page.id ORDER BY d.id DESC`

// mergedLog is the ids of the webhook's (?1) whole log newest first: the
// four status ranges of the log index, each read in id order and merged
// (SQLite runs a compound SELECT with ORDER BY as a merge of its ordered
// parts), so page 500 reads about 10,000 index entries whatever the log's
// size. Ids only: the index covers them, so skipped entries cost no table
// lookup (with the rows' columns, each of the 10,000 was a primary-key
// search of the table, which made page 500 of a 1,000,000-row log ~5× slower).
var mergedLog = func() string {
	var b strings.Builder
	for i, status := range store.Statuses {
		if i > 0 {
			b.WriteString(" UNION ALL ")
		}
		b.WriteString(`SELECT id FROM deliveries INDEXED BY deliveries_log
			WHERE webhook_id = ?1 AND status = '` + status + `'`)
	}
	b.WriteString(` ORDER BY 1 DESC`)
	return b.String()
}()

// GetDelivery returns a delivery of a webhook that still exists in the team,
// with the body it sends and its attempts in order: the attempt rows, then
// the success kept on the delivery row, if any.
func (s *Store) GetDelivery(ctx context.Context, teamID, webhookID, deliveryID uuid.UUID) (store.DeliveryDetail, error) {
	tx, err := s.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return store.DeliveryDetail{}, err
	}
	defer tx.Rollback()
	row := tx.QueryRowContext(ctx, `SELECT `+deliveryColumns+`, e.body,
			d.success_started_at, d.success_duration_ms, d.success_response
		FROM deliveries d JOIN events e ON e.id = d.event_id JOIN webhooks h ON h.id = d.webhook_id
		WHERE d.id = ?1 AND d.webhook_id = ?2 AND d.team_id = ?3 AND h.team_id = ?3`,
		blob(deliveryID), blob(webhookID), blob(teamID))
	var dd store.DeliveryDetail
	var succStarted, succDuration sql.NullInt64
	var succBody sql.NullString
	dd.Delivery, err = scanDelivery(row, &dd.RequestBody, &succStarted, &succDuration, &succBody)
	if err != nil {
		return store.DeliveryDetail{}, noRows(err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT attempt_number, started_at, duration_ms, status_code, error, response_body
		FROM attempts WHERE delivery_id = ? ORDER BY attempt_number, rowid`, blob(deliveryID))
	if err != nil {
		return store.DeliveryDetail{}, err
	}
	defer rows.Close()
	dd.Attempts = []store.Attempt{}
	for rows.Next() {
		a := store.Attempt{DeliveryID: deliveryID}
		var started int64
		var code sql.NullInt64
		var errText sql.NullString
		if err := rows.Scan(&a.AttemptNumber, &started, &a.DurationMS, &code, &errText, &a.ResponseBody); err != nil {
			return store.DeliveryDetail{}, err
		}
		a.StartedAt = fromTS(started)
		a.StatusCode = fromNullInt(code)
		a.Error = fromNullString(errText)
		dd.Attempts = append(dd.Attempts, a)
	}
	if err := rows.Err(); err != nil {
		return store.DeliveryDetail{}, err
	}
	if succStarted.Valid {
		dd.Attempts = append(dd.Attempts, store.Attempt{
			DeliveryID:    deliveryID,
			AttemptNumber: dd.AttemptCount,
			StartedAt:     fromTS(succStarted.Int64),
			DurationMS:    succDuration.Int64,
			StatusCode:    dd.LastStatusCode,
			ResponseBody:  succBody.String,
		})
	}
	return dd, nil
}

// Redeliver queues the same event to the same webhook again, with a full
// retry schedule. The event's ingest delivery count is unchanged.
func (s *Store) Redeliver(ctx context.Context, teamID, webhookID, deliveryID uuid.UUID, now time.Time) (uuid.UUID, error) {
	var id uuid.UUID
	var eventType string
	err := s.write(ctx, func(w *wtx) error {
		status, err := webhookStatus(w, teamID, webhookID)
		if err != nil {
			return err
		}
		var eventID, taskID uuid.UUID
		if err := w.queryRow(`SELECT event_id, event_type, task_id FROM deliveries WHERE id = ? AND webhook_id = ? AND team_id = ?`,
			blob(deliveryID), blob(webhookID), blob(teamID)).Scan(&eventID, &eventType, &taskID); err != nil {
			return noRows(err)
		}
		if status != store.WebhookActive {
			return store.ErrWebhookDisabled
		}
		counts := store.CountDeltas{}
		if id, err = insertPending(w, eventID, webhookID, teamID, eventType, taskID, orNow(now), counts); err != nil {
			return err
		}
		return applyCounts(w, counts)
	})
	if err != nil {
		return uuid.Nil, err
	}
	s.obs.DeliveriesCreated(store.SourceRedeliver, eventType, 1)
	return id, nil
}

// CreateTestDelivery writes ev (a webhook.test event) and one delivery to the
// webhook, whatever its subscriptions.
func (s *Store) CreateTestDelivery(ctx context.Context, teamID, webhookID uuid.UUID, ev store.NewEvent) (uuid.UUID, error) {
	var id uuid.UUID
	err := s.write(ctx, func(w *wtx) error {
		status, err := webhookStatus(w, teamID, webhookID)
		if err != nil {
			return err
		}
		if status != store.WebhookActive {
			return store.ErrWebhookDisabled
		}
		created := orNow(ev.CreatedAt)
		if _, err := w.exec(`INSERT INTO events (id, team_id, task_id, event_type, task_status, body, delivery_count, created_at)
			VALUES (?, ?, ?, ?, ?, ?, 1, ?)`,
			blob(ev.ID), blob(teamID), blob(ev.TaskID), ev.EventType, ev.TaskStatus, nonNilBytes(ev.Body),
			ts(created)); err != nil {
			return uniqueToConflict(err)
		}
		counts := store.CountDeltas{}
		if id, err = insertPending(w, ev.ID, webhookID, teamID, ev.EventType, ev.TaskID, created, counts); err != nil {
			return err
		}
		return applyCounts(w, counts)
	})
	if err != nil {
		return uuid.Nil, err
	}
	s.obs.DeliveriesCreated(store.SourceTest, ev.EventType, 1)
	return id, nil
}

// webhookStatus reads a webhook's status in the team, or ErrNotFound.
func webhookStatus(w *wtx, teamID, webhookID uuid.UUID) (string, error) {
	var status string
	err := w.queryRow(`SELECT status FROM webhooks WHERE id = ? AND team_id = ?`, blob(webhookID), blob(teamID)).Scan(&status)
	return status, noRows(err)
}

// insertPending adds an unleased delivery created and due at now, counted
// in counts (the caller applies them).
func insertPending(w *wtx, eventID, webhookID, teamID uuid.UUID, eventType string, taskID uuid.UUID, now time.Time, counts store.CountDeltas) (uuid.UUID, error) {
	id, err := store.NewID(now)
	if err != nil {
		return uuid.Nil, err
	}
	if _, err = w.exec(`INSERT INTO deliveries (id, event_id, webhook_id, team_id, event_type, task_id, status,
		attempt_count, next_attempt_at, queue_at, created_at)
		VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', 0, ?7, ?7, ?7)`,
		blob(id), blob(eventID), blob(webhookID), blob(teamID), eventType, blob(taskID), ts(now)); err != nil {
		return uuid.Nil, err
	}
	counts.Add(webhookID, store.StatusPending, 1)
	return id, nil
}

// scanDelivery reads deliveryColumns, then any extra destinations.
func scanDelivery(r scanner, extra ...any) (store.Delivery, error) {
	var (
		d          store.Delivery
		next, done sql.NullInt64
		code       sql.NullInt64
		lastErr    sql.NullString
		created    int64
	)
	dest := append([]any{&d.ID, &d.EventID, &d.WebhookID, &d.TeamID, &d.EventType, &d.TaskID, &d.Status, &d.AttemptCount,
		&next, &code, &lastErr, &created, &done}, extra...)
	if err := r.Scan(dest...); err != nil {
		return store.Delivery{}, err
	}
	d.NextAttemptAt = fromNullTS(next)
	d.LastStatusCode = fromNullInt(code)
	d.LastError = fromNullString(lastErr)
	d.CreatedAt = fromTS(created)
	d.CompletedAt = fromNullTS(done)
	return d, nil
}
