package postgres

import (
	"context"

	"github.com/google/uuid"

	"github.com/hookd/hookd/internal/store"
)

// EnsureMeta stores value under key unless a value is there, and returns the
// stored value. One statement, so concurrent starts agree on the winner.
func (s *Store) EnsureMeta(ctx context.Context, key, value string) (string, error) {
	var stored string
	err := s.pool.QueryRow(ctx, `
		INSERT INTO meta (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET key = EXCLUDED.key
		RETURNING value`, key, value).Scan(&stored)
	if err != nil {
		return "", mapErr("ensure meta", err)
	}
	return stored, nil
}

func (s *Store) CreateTeam(ctx context.Context, t store.Team) error {
	_, err := s.pool.Exec(ctx,
		`INSERT INTO teams (id, display_name, created_at) VALUES ($1, $2, $3)`,
		t.ID, t.DisplayName, t.CreatedAt)
	return mapErr("create team", err)
}

func (s *Store) GetTeam(ctx context.Context, id uuid.UUID) (store.Team, error) {
	t := store.Team{ID: id}
	err := s.pool.QueryRow(ctx,
		`SELECT display_name, created_at FROM teams WHERE id = $1`, id).
		Scan(&t.DisplayName, &t.CreatedAt)
	t.CreatedAt = utc(t.CreatedAt)
	return t, mapErr("get team", err)
}

// PutMember inserts the member or changes their role (keeping the original
// created_at). The foreign key turns an unknown team into ErrNotFound.
func (s *Store) PutMember(ctx context.Context, m store.Member) error {
	_, err := s.pool.Exec(ctx, `
		INSERT INTO members (team_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (team_id, user_id) DO UPDATE SET role = EXCLUDED.role`,
		m.TeamID, m.UserID, m.Role, m.CreatedAt)
	if pgCode(err) == codeForeignKeyViolation {
		return store.ErrNotFound
	}
	return mapErr("put member", err)
}

func (s *Store) GetMember(ctx context.Context, teamID, userID uuid.UUID) (store.Member, error) {
	m := store.Member{TeamID: teamID, UserID: userID}
	err := s.pool.QueryRow(ctx,
		`SELECT role, created_at FROM members WHERE team_id = $1 AND user_id = $2`, teamID, userID).
		Scan(&m.Role, &m.CreatedAt)
	m.CreatedAt = utc(m.CreatedAt)
	return m, mapErr("get member", err)
}
