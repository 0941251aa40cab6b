package postgres

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd/internal/store"
)

const credentialColumns = `id, team_id, user_id, kind, display_name, key_prefix, key_hash,
	created_at, last_used_at, expires_at, revoked_at`

// CreateCredential inserts c; a key hash already stored is ErrConflict.
func (s *Store) CreateCredential(ctx context.Context, c store.Credential) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO credentials (`+credentialColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		c.ID, c.TeamID, nullUUID(c.UserID), c.Kind, c.DisplayName, c.KeyPrefix, c.KeyHash,
		c.CreatedAt, c.LastUsedAt, c.ExpiresAt, c.RevokedAt)
	return mapErr("create credential", err)
}

func (s *Store) GetCredentialByHash(ctx context.Context, hash []byte) (store.Credential, error) {
	row := s.pool.QueryRow(ctx, `SELECT `+credentialColumns+` FROM credentials WHERE key_hash = $1`, hash)
	c, err := scanCredential(row)
	return c, mapErr("get credential", err)
}

func (s *Store) ListCredentials(ctx context.Context, teamID uuid.UUID, kind string, p store.Page) ([]store.Credential, int, error) {
	if err := checkPage(p); err != nil {
		return nil, 0, err
	}
	const where = ` FROM credentials WHERE team_id = $1 AND ($2 = '' OR kind = $2)`
	b := &pgx.Batch{}
	b.Queue(`SELECT count(*)`+where, teamID, kind)
	b.Queue(`SELECT `+credentialColumns+where+` ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4`,
		teamID, kind, p.Size, p.Offset())
	br := s.pool.SendBatch(ctx, b)
	defer br.Close()
	var total int
	if err := br.QueryRow().Scan(&total); err != nil {
		return nil, 0, mapErr("count credentials", err)
	}
	rows, err := br.Query()
	if err != nil {
		return nil, 0, mapErr("list credentials", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Credential, error) { return scanCredential(r) })
	if err != nil {
		return nil, 0, mapErr("list credentials", err)
	}
	return list, total, nil
}

// RevokeCredential marks the key revoked; revoking twice keeps the first time.
func (s *Store) RevokeCredential(ctx context.Context, teamID, id uuid.UUID, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE credentials SET revoked_at = COALESCE(revoked_at, $3)
		WHERE id = $1 AND team_id = $2`, id, teamID, at)
	if err != nil {
		return mapErr("revoke credential", err)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}

// TouchCredential records a use. Never moves last_used_at backwards, so
// out-of-order touches from several processes keep the latest.
func (s *Store) TouchCredential(ctx context.Context, id uuid.UUID, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE credentials SET last_used_at = GREATEST(last_used_at, $2)
		WHERE id = $1`, id, at)
	if err != nil {
		return mapErr("touch credential", err)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}

func scanCredential(row pgx.Row) (store.Credential, error) {
	var c store.Credential
	var userID *uuid.UUID
	err := row.Scan(&c.ID, &c.TeamID, &userID, &c.Kind, &c.DisplayName, &c.KeyPrefix, &c.KeyHash,
		&c.CreatedAt, &c.LastUsedAt, &c.ExpiresAt, &c.RevokedAt)
	if userID != nil {
		c.UserID = *userID
	}
	c.CreatedAt = utc(c.CreatedAt)
	c.LastUsedAt, c.ExpiresAt, c.RevokedAt = utcPtr(c.LastUsedAt), utcPtr(c.ExpiresAt), utcPtr(c.RevokedAt)
	return c, err
}

// nullUUID stores uuid.Nil (an integration key's user) as NULL.
func nullUUID(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}
