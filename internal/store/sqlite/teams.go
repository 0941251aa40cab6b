package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/google/uuid"
	"github.com/hookd/hookd/internal/store"
)

// EnsureMeta stores value under key when absent and returns what is stored.
func (s *Store) EnsureMeta(ctx context.Context, key, value string) (string, error) {
	var stored string
	err := s.write(ctx, func(w *wtx) error {
		if _, err := w.exec(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, key, value); err != nil {
			return err
		}
		return w.queryRow(`SELECT value FROM meta WHERE key = ?`, key).Scan(&stored)
	})
	if err != nil {
		return "", err
	}
	return stored, nil
}

func (s *Store) CreateTeam(ctx context.Context, t store.Team) error {
	return s.write(ctx, func(w *wtx) error {
		_, err := w.exec(`INSERT INTO teams (id, display_name, created_at) VALUES (?, ?, ?)`,
			blob(t.ID), t.DisplayName, ts(orNow(t.CreatedAt)))
		return uniqueToConflict(err)
	})
}

func (s *Store) GetTeam(ctx context.Context, id uuid.UUID) (store.Team, error) {
	t := store.Team{ID: id}
	var created int64
	err := s.reader.QueryRowContext(ctx, `SELECT display_name, created_at FROM teams WHERE id = ?`, blob(id)).
		Scan(&t.DisplayName, &created)
	if err != nil {
		return store.Team{}, noRows(err)
	}
	t.CreatedAt = fromTS(created)
	return t, nil
}

// PutMember adds a member or changes their role (keeping the first
// created_at). ErrNotFound when the team does not exist.
func (s *Store) PutMember(ctx context.Context, m store.Member) error {
	return s.write(ctx, func(w *wtx) error {
		var one int
		if err := w.queryRow(`SELECT 1 FROM teams WHERE id = ?`, blob(m.TeamID)).Scan(&one); err != nil {
			return noRows(err)
		}
		_, err := w.exec(`INSERT INTO members (team_id, user_id, role, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (team_id, user_id) DO UPDATE SET role = excluded.role`,
			blob(m.TeamID), blob(m.UserID), m.Role, ts(orNow(m.CreatedAt)))
		return err
	})
}

func (s *Store) GetMember(ctx context.Context, teamID, userID uuid.UUID) (store.Member, error) {
	m := store.Member{TeamID: teamID, UserID: userID}
	var created int64
	err := s.reader.QueryRowContext(ctx, `SELECT role, created_at FROM members WHERE team_id = ? AND user_id = ?`,
		blob(teamID), blob(userID)).Scan(&m.Role, &created)
	if err != nil {
		return store.Member{}, noRows(err)
	}
	m.CreatedAt = fromTS(created)
	return m, nil
}

// exists reports whether a query returning one row finds it.
func exists(row *sql.Row) (bool, error) {
	var one int
	err := row.Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}
