package sqlite

import (
	"context"

	"github.com/google/uuid"

	"github.com/hookd/hookd/internal/store"
)

// SwapMeta sets key to value if it holds old now ("" : absent).
func (s *Store) SwapMeta(ctx context.Context, key, old, value string) (bool, error) {
	var n int64
	err := s.write(ctx, func(w *wtx) error {
		var err error
		if old == "" {
			n, err = affected(w.exec(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, key, value))
		} else {
			n, err = affected(w.exec(`UPDATE meta SET value = ? WHERE key = ? AND value = ?`, value, key, old))
		}
		return err
	})
	return n == 1, err
}

// WebhookSecrets pages through every team's webhooks in id order.
func (s *Store) WebhookSecrets(ctx context.Context, after uuid.UUID, limit int) ([]store.WebhookSecret, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT id, secret_enc FROM webhooks WHERE id > ? ORDER BY id LIMIT ?`,
		blob(after), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.WebhookSecret
	for rows.Next() {
		var ws store.WebhookSecret
		if err := rows.Scan(&ws.ID, &ws.SecretEnc); err != nil {
			return nil, err
		}
		out = append(out, ws)
	}
	return out, rows.Err()
}

// ReplaceWebhookSecret swaps a sealed secret if it is still old.
func (s *Store) ReplaceWebhookSecret(ctx context.Context, id uuid.UUID, old, value []byte) (bool, error) {
	var n int64
	err := s.write(ctx, func(w *wtx) error {
		var err error
		n, err = affected(w.exec(`UPDATE webhooks SET secret_enc = ? WHERE id = ? AND secret_enc = ?`,
			nonNilBytes(value), blob(id), nonNilBytes(old)))
		return err
	})
	return n == 1, err
}
