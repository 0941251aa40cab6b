package postgres

import (
	"context"
	"slices"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd/internal/store"
)

const webhookColumns = `id, team_id, display_name, url, secret_enc, events, status, created_at, last_delivered_at`

func (s *Store) CreateWebhook(ctx context.Context, w store.Webhook) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO webhooks (`+webhookColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		w.ID, w.TeamID, w.DisplayName, w.URL, w.SecretEnc, normalizeEvents(w.Events), w.Status,
		w.CreatedAt, w.LastDeliveredAt)
	return mapErr("create webhook", err)
}

func (s *Store) GetWebhook(ctx context.Context, teamID, id uuid.UUID) (store.Webhook, error) {
	row := s.pool.QueryRow(ctx, `SELECT `+webhookColumns+` FROM webhooks WHERE id = $1 AND team_id = $2`, id, teamID)
	w, err := scanWebhook(row)
	return w, mapErr("get webhook", err)
}

func (s *Store) ListWebhooks(ctx context.Context, teamID uuid.UUID, status string, p store.Page) ([]store.Webhook, int, error) {
	if err := checkPage(p); err != nil {
		return nil, 0, err
	}
	const where = ` FROM webhooks WHERE team_id = $1 AND ($2 = '' OR status = $2)`
	b := &pgx.Batch{}
	b.Queue(`SELECT count(*)`+where, teamID, status)
	b.Queue(`SELECT `+webhookColumns+where+` ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4`,
		teamID, status, p.Size, p.Offset())
	br := s.pool.SendBatch(ctx, b)
	defer br.Close()
	var total int
	if err := br.QueryRow().Scan(&total); err != nil {
		return nil, 0, mapErr("count webhooks", err)
	}
	rows, err := br.Query()
	if err != nil {
		return nil, 0, mapErr("list webhooks", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Webhook, error) { return scanWebhook(r) })
	if err != nil {
		return nil, 0, mapErr("list webhooks", err)
	}
	return list, total, nil
}

// UpdateWebhook applies p. The row is locked FOR UPDATE first: ingests hold
// FOR KEY SHARE on the webhooks they deliver to until they commit, so a
// disable waits for them and then cancels their deliveries too.
func (s *Store) UpdateWebhook(ctx context.Context, teamID, id uuid.UUID, p store.WebhookPatch) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockWebhook(ctx, tx, teamID, id); err != nil {
			return err
		}
		var events []string
		if p.Events != nil {
			events = normalizeEvents(p.Events)
		}
		_, err := tx.Exec(ctx, `UPDATE webhooks SET
				display_name = COALESCE($2, display_name),
				url          = COALESCE($3, url),
				events       = COALESCE($4, events),
				status       = COALESCE($5, status),
				secret_enc   = COALESCE($6, secret_enc)
			WHERE id = $1`, id, p.DisplayName, p.URL, events, p.Status, p.SecretEnc)
		if err != nil {
			return mapErr("update webhook", err)
		}
		if p.Status != nil && *p.Status == store.WebhookDisabled {
			return cancelPending(ctx, tx, id)
		}
		return nil
	})
}

// DeleteWebhook removes the webhook and cancels its pending deliveries.
func (s *Store) DeleteWebhook(ctx context.Context, teamID, id uuid.UUID) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM webhooks WHERE id = $1 AND team_id = $2`, id, teamID)
		if err != nil {
			return mapErr("delete webhook", err)
		}
		if tag.RowsAffected() == 0 {
			return store.ErrNotFound
		}
		return cancelPending(ctx, tx, id)
	})
}

func lockWebhook(ctx context.Context, tx pgx.Tx, teamID, id uuid.UUID) error {
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM webhooks WHERE id = $1 AND team_id = $2 FOR UPDATE`, id, teamID).Scan(&one)
	return mapErr("lock webhook", err)
}

// cancelPending ends the webhook's pending deliveries. Their leases are
// cleared: an attempt in flight records its outcome without changing state.
// The pending rows are the queue index (the backlog), not the webhook's log.
func cancelPending(ctx context.Context, tx pgx.Tx, webhookID uuid.UUID) error {
	tag, err := tx.Exec(ctx, `UPDATE deliveries SET status = 'canceled', next_attempt_at = NULL,
			queue_at = NULL, lease_owner = NULL, completed_at = now()
		WHERE webhook_id = $1 AND status = 'pending'`, webhookID)
	if err != nil || tag.RowsAffected() == 0 {
		return mapErr("cancel deliveries", err)
	}
	counts := store.CountDeltas{}
	counts.Move(webhookID, store.StatusPending, store.StatusCanceled, tag.RowsAffected())
	b := &pgx.Batch{}
	queueCounts(b, counts)
	return mapErr("cancel deliveries", tx.SendBatch(ctx, b).Close())
}

func scanWebhook(row pgx.Row) (store.Webhook, error) {
	var w store.Webhook
	err := row.Scan(&w.ID, &w.TeamID, &w.DisplayName, &w.URL, &w.SecretEnc, &w.Events, &w.Status,
		&w.CreatedAt, &w.LastDeliveredAt)
	w.CreatedAt = utc(w.CreatedAt)
	w.LastDeliveredAt = utcPtr(w.LastDeliveredAt)
	return w, err
}

// normalizeEvents returns the event types sorted and unique, never nil
// (the column is NOT NULL).
func normalizeEvents(events []string) []string {
	out := slices.Clone(events)
	slices.Sort(out)
	out = slices.Compact(out)
	if out == nil {
		out = []string{}
	}
	return out
}
