package postgres

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd/internal/store"
)

// SwapMeta sets key to value if it holds old now ("": absent).
func (s *Store) SwapMeta(ctx context.Context, key, old, value string) (bool, error) {
	q := `UPDATE meta SET value = $2 WHERE key = $1 AND value = $3`
	args := []any{key, value, old}
	if old == "" {
		q, args = `INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, args[:2]
	}
	tag, err := s.pool.Exec(ctx, q, args...)
	if err != nil {
		return false, mapErr("swap meta", err)
	}
	return tag.RowsAffected() == 1, nil
}

// WebhookSecrets pages through every team's webhooks in id order.
func (s *Store) WebhookSecrets(ctx context.Context, after uuid.UUID, limit int) ([]store.WebhookSecret, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, secret_enc FROM webhooks WHERE id > $1 ORDER BY id LIMIT $2`, after, limit)
	if err != nil {
		return nil, mapErr("list webhook secrets", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.WebhookSecret, error) {
		var ws store.WebhookSecret
		err := r.Scan(&ws.ID, &ws.SecretEnc)
		return ws, err
	})
	return list, mapErr("list webhook secrets", err)
}

// ReplaceWebhookSecret swaps a sealed secret if it is still old.
func (s *Store) ReplaceWebhookSecret(ctx context.Context, id uuid.UUID, old, value []byte) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE webhooks SET secret_enc = $2 WHERE id = $1 AND secret_enc = $3`, id, value, old)
	if err != nil {
		return false, mapErr("replace webhook secret", err)
	}
	return tag.RowsAffected() == 1, nil
}

// LiveOwners counts the owner identities whose lock a session holds now:
// the `hookd serve` processes running deliveries on this schema (a process
// holds one, two for a moment while it registers anew). A master-key
// rotation asks it before it seals secrets under a key no server has
// announced.
func (s *Store) LiveOwners(ctx context.Context) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM pg_locks l
		WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
			AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
			AND l.classid = $1::int::oid`, s.lockClass).Scan(&n)
	return n, mapErr("count live owners", err)
}
