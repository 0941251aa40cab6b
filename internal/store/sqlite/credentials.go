package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/google/uuid"
	"github.com/hookd/hookd/internal/store"
	sqlite3 "modernc.org/sqlite/lib"
)

const credentialColumns = `id, team_id, user_id, kind, display_name, key_prefix, key_hash,
	created_at, last_used_at, expires_at, revoked_at`

// CreateCredential stores a key. ErrConflict: the hash (or id) is taken;
// ErrNotFound: no such team.
func (s *Store) CreateCredential(ctx context.Context, c store.Credential) error {
	return s.write(ctx, func(w *wtx) error {
		_, err := w.exec(`INSERT INTO credentials (`+credentialColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			blob(c.ID), blob(c.TeamID), nullUUID(c.UserID), c.Kind, c.DisplayName, c.KeyPrefix, c.KeyHash,
			ts(orNow(c.CreatedAt)), tsOrNil(c.LastUsedAt), tsOrNil(c.ExpiresAt), tsOrNil(c.RevokedAt))
		if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY) {
			return store.ErrNotFound
		}
		return uniqueToConflict(err)
	})
}

func (s *Store) GetCredentialByHash(ctx context.Context, hash []byte) (store.Credential, error) {
	row := s.reader.QueryRowContext(ctx, `SELECT `+credentialColumns+` FROM credentials WHERE key_hash = ?`, hash)
	c, err := scanCredential(row)
	return c, noRows(err)
}

func (s *Store) ListCredentials(ctx context.Context, teamID uuid.UUID, kind string, p store.Page) ([]store.Credential, int, error) {
	return listPage(ctx, s.reader, "credentials", credentialColumns, "kind", teamID, kind, p, scanCredential)
}

// RevokeCredential marks a key revoked; revoking again keeps the first time.
func (s *Store) RevokeCredential(ctx context.Context, teamID, id uuid.UUID, at time.Time) error {
	return s.write(ctx, func(w *wtx) error {
		n, err := affected(w.exec(`UPDATE credentials SET revoked_at = coalesce(revoked_at, ?) WHERE id = ? AND team_id = ?`,
			ts(at), blob(id), blob(teamID)))
		if err == nil && n == 0 {
			return store.ErrNotFound
		}
		return err
	})
}

func (s *Store) TouchCredential(ctx context.Context, id uuid.UUID, at time.Time) error {
	return s.write(ctx, func(w *wtx) error {
		n, err := affected(w.exec(`UPDATE credentials SET last_used_at = ? WHERE id = ?`, ts(at), blob(id)))
		if err == nil && n == 0 {
			return store.ErrNotFound
		}
		return err
	})
}

type scanner interface{ Scan(dest ...any) error }

func scanCredential(r scanner) (store.Credential, error) {
	var (
		c                         store.Credential
		user                      uuid.NullUUID
		created                   int64
		lastUsed, expires, revoke sql.NullInt64
	)
	err := r.Scan(&c.ID, &c.TeamID, &user, &c.Kind, &c.DisplayName, &c.KeyPrefix, &c.KeyHash,
		&created, &lastUsed, &expires, &revoke)
	if err != nil {
		return store.Credential{}, err
	}
	c.UserID = user.UUID
	c.CreatedAt = fromTS(created)
	c.LastUsedAt = fromNullTS(lastUsed)
	c.ExpiresAt = fromNullTS(expires)
	c.RevokedAt = fromNullTS(revoke)
	return c, nil
}
