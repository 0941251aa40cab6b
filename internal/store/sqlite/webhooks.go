package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/google/uuid"
	"github.com/hookd/hookd/internal/store"
	sqlite3 "modernc.org/sqlite/lib"
)

const webhookColumns = `id, team_id, display_name, url, secret_enc, events, status, created_at, last_delivered_at`

// CreateWebhook stores w. ErrNotFound: no such team; ErrConflict: id taken.
func (s *Store) CreateWebhook(ctx context.Context, wh store.Webhook) error {
	return s.write(ctx, func(w *wtx) error {
		s.targets.clear()
		_, err := w.exec(`INSERT INTO webhooks (`+webhookColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			blob(wh.ID), blob(wh.TeamID), wh.DisplayName, wh.URL, nonNilBytes(wh.SecretEnc), joinEvents(wh.Events),
			wh.Status, ts(orNow(wh.CreatedAt)), tsOrNil(wh.LastDeliveredAt))
		if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY) {
			return store.ErrNotFound
		}
		return uniqueToConflict(err)
	})
}

func (s *Store) GetWebhook(ctx context.Context, teamID, id uuid.UUID) (store.Webhook, error) {
	row := s.reader.QueryRowContext(ctx, `SELECT `+webhookColumns+` FROM webhooks WHERE id = ? AND team_id = ?`,
		blob(id), blob(teamID))
	wh, err := scanWebhook(row)
	return wh, noRows(err)
}

func (s *Store) ListWebhooks(ctx context.Context, teamID uuid.UUID, status string, p store.Page) ([]store.Webhook, int, error) {
	return listPage(ctx, s.reader, "webhooks", webhookColumns, "status", teamID, status, p, scanWebhook)
}

// UpdateWebhook applies the non-nil fields; disabling cancels the webhook's
// pending deliveries in the same transaction.
func (s *Store) UpdateWebhook(ctx context.Context, teamID, id uuid.UUID, p store.WebhookPatch) error {
	return s.write(ctx, func(w *wtx) error {
		s.targets.clear()
		row := w.queryRow(`SELECT `+webhookColumns+` FROM webhooks WHERE id = ? AND team_id = ?`, blob(id), blob(teamID))
		wh, err := scanWebhook(row)
		if err != nil {
			return noRows(err)
		}
		if p.DisplayName != nil {
			wh.DisplayName = *p.DisplayName
		}
		if p.URL != nil {
			wh.URL = *p.URL
		}
		if p.Events != nil {
			wh.Events = p.Events
		}
		if p.Status != nil {
			wh.Status = *p.Status
		}
		if p.SecretEnc != nil {
			wh.SecretEnc = p.SecretEnc
		}
		if _, err := w.exec(`UPDATE webhooks SET display_name = ?, url = ?, events = ?, status = ?, secret_enc = ? WHERE id = ?`,
			wh.DisplayName, wh.URL, joinEvents(wh.Events), wh.Status, nonNilBytes(wh.SecretEnc), blob(id)); err != nil {
			return err
		}
		if wh.Status == store.WebhookDisabled {
			return cancelPending(w, id, time.Now())
		}
		return nil
	})
}

// DeleteWebhook removes the webhook and cancels its pending deliveries; the
// canceled log rows stay until the retention purge.
func (s *Store) DeleteWebhook(ctx context.Context, teamID, id uuid.UUID) error {
	return s.write(ctx, func(w *wtx) error {
		s.targets.clear()
		n, err := affected(w.exec(`DELETE FROM webhooks WHERE id = ? AND team_id = ?`, blob(id), blob(teamID)))
		if err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNotFound
		}
		return cancelPending(w, id, time.Now())
	})
}

// cancelPending ends every pending delivery of a webhook, leased or not; an
// in-flight attempt's outcome then only records its attempt. The log index
// holds the webhook's pending rows together, so a disable reads them, never
// the webhook's whole log.
func cancelPending(w *wtx, webhookID uuid.UUID, now time.Time) error {
	n, err := affected(w.exec(`UPDATE deliveries INDEXED BY deliveries_log
		SET status = 'canceled', completed_at = ?, next_attempt_at = NULL, queue_at = NULL, lease_owner = NULL
		WHERE webhook_id = ? AND status = 'pending'`, ts(now), blob(webhookID)))
	if err != nil {
		return err
	}
	counts := store.CountDeltas{}
	counts.Move(webhookID, store.StatusPending, store.StatusCanceled, n)
	return applyCounts(w, counts)
}

func scanWebhook(r scanner) (store.Webhook, error) {
	var (
		wh        store.Webhook
		events    string
		created   int64
		delivered sql.NullInt64
	)
	if err := r.Scan(&wh.ID, &wh.TeamID, &wh.DisplayName, &wh.URL, &wh.SecretEnc, &events, &wh.Status,
		&created, &delivered); err != nil {
		return store.Webhook{}, err
	}
	wh.Events = splitEvents(events)
	wh.CreatedAt = fromTS(created)
	wh.LastDeliveredAt = fromNullTS(delivered)
	return wh, nil
}

// nonNilBytes keeps a NOT NULL blob column happy when the caller passes nil.
func nonNilBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
