package storetest

import (
	"testing"
	"time"

	"github.com/hookd/hookd/internal/store"
)

func teamCases() []testCase {
	return []testCase{
		{"CreateAndGet", func(t *testing.T, s store.Store) {
			tm := mkTeam(t, s)
			got, err := s.GetTeam(ctx(t), tm.ID)
			must(t, "GetTeam", err)
			if got.ID != tm.ID || got.DisplayName != tm.DisplayName {
				t.Fatalf("GetTeam = %+v, want %+v", got, tm)
			}
			sameTime(t, "CreatedAt", &got.CreatedAt, tm.CreatedAt)
		}},
		{"GetUnknownIsNotFound", func(t *testing.T, s store.Store) {
			_, err := s.GetTeam(ctx(t), newID(t))
			wantErr(t, "GetTeam", err, store.ErrNotFound)
		}},
		{"DuplicateIDIsConflict", func(t *testing.T, s store.Store) {
			tm := mkTeam(t, s)
			wantErr(t, "CreateTeam again", s.CreateTeam(ctx(t), tm), store.ErrConflict)
		}},
		{"PutMemberAddsAndChangesRole", func(t *testing.T, s store.Store) {
			tm := mkTeam(t, s)
			user := newID(t)
			at := now()
			must(t, "PutMember", s.PutMember(ctx(t), store.Member{TeamID: tm.ID, UserID: user, Role: "viewer", CreatedAt: at}))
			m, err := s.GetMember(ctx(t), tm.ID, user)
			must(t, "GetMember", err)
			if m.Role != "viewer" || m.TeamID != tm.ID || m.UserID != user {
				t.Fatalf("GetMember = %+v", m)
			}
			sameTime(t, "member CreatedAt", &m.CreatedAt, at)
			must(t, "PutMember again", s.PutMember(ctx(t), store.Member{TeamID: tm.ID, UserID: user, Role: "admin", CreatedAt: at.Add(time.Hour)}))
			m, err = s.GetMember(ctx(t), tm.ID, user)
			must(t, "GetMember", err)
			if m.Role != "admin" {
				t.Fatalf("role after PutMember = %q, want admin", m.Role)
			}
		}},
		{"PutMemberUnknownTeamIsNotFound", func(t *testing.T, s store.Store) {
			err := s.PutMember(ctx(t), store.Member{TeamID: newID(t), UserID: newID(t), Role: "owner", CreatedAt: now()})
			wantErr(t, "PutMember", err, store.ErrNotFound)
		}},
		{"MembershipIsPerTeam", func(t *testing.T, s store.Store) {
			a, b := mkTeam(t, s), mkTeam(t, s)
			user := newID(t)
			must(t, "PutMember", s.PutMember(ctx(t), store.Member{TeamID: a.ID, UserID: user, Role: "owner", CreatedAt: now()}))
			_, err := s.GetMember(ctx(t), b.ID, user)
			wantErr(t, "GetMember in other team", err, store.ErrNotFound)
			_, err = s.GetMember(ctx(t), a.ID, newID(t))
			wantErr(t, "GetMember unknown user", err, store.ErrNotFound)
		}},
	}
}
