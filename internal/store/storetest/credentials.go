package storetest

import (
	"crypto/sha256"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hookd/hookd/internal/store"
)

// mkCredential stores a credential created at the given time.
func mkCredential(t *testing.T, s store.Store, team uuid.UUID, kind string, user uuid.UUID, at time.Time) store.Credential {
	t.Helper()
	raw := "sk-" + uuid.NewString()
	sum := sha256.Sum256([]byte(raw))
	c := store.Credential{
		ID:          newID(t),
		TeamID:      team,
		UserID:      user,
		Kind:        kind,
		DisplayName: "key " + raw[:8],
		KeyPrefix:   raw[:12],
		KeyHash:     sum[:],
		CreatedAt:   at,
	}
	must(t, "CreateCredential", s.CreateCredential(ctx(t), c))
	return c
}

func credentialCases() []testCase {
	return []testCase{
		{"CreateAndGetByHash", func(t *testing.T, s store.Store) {
			tm := mkTeam(t, s)
			user := newID(t)
			exp := now().Add(24 * time.Hour)
			c := store.Credential{
				ID: newID(t), TeamID: tm.ID, UserID: user, Kind: store.KindDevice,
				DisplayName: "laptop", KeyPrefix: "dk-abcdefghi", KeyHash: []byte("hash-1"),
				CreatedAt: now(), ExpiresAt: &exp,
			}
			must(t, "CreateCredential", s.CreateCredential(ctx(t), c))
			got, err := s.GetCredentialByHash(ctx(t), []byte("hash-1"))
			must(t, "GetCredentialByHash", err)
			if got.ID != c.ID || got.TeamID != tm.ID || got.UserID != user || got.Kind != store.KindDevice ||
				got.DisplayName != "laptop" || got.KeyPrefix != "dk-abcdefghi" || string(got.KeyHash) != "hash-1" {
				t.Fatalf("GetCredentialByHash = %+v, want %+v", got, c)
			}
			sameTime(t, "CreatedAt", &got.CreatedAt, c.CreatedAt)
			sameTime(t, "ExpiresAt", got.ExpiresAt, exp)
			if got.LastUsedAt != nil || got.RevokedAt != nil {
				t.Fatalf("new credential has LastUsedAt %v RevokedAt %v", got.LastUsedAt, got.RevokedAt)
			}
		}},
		{"IntegrationKeyHasNoUser", func(t *testing.T, s store.Store) {
			tm := mkTeam(t, s)
			c := mkCredential(t, s, tm.ID, store.KindIntegration, uuid.Nil, now())
			got, err := s.GetCredentialByHash(ctx(t), c.KeyHash)
			must(t, "GetCredentialByHash", err)
			if got.UserID != uuid.Nil || got.ExpiresAt != nil {
				t.Fatalf("integration key UserID %v ExpiresAt %v, want Nil and nil", got.UserID, got.ExpiresAt)
			}
		}},
		{"UnknownHashIsNotFound", func(t *testing.T, s store.Store) {
			_, err := s.GetCredentialByHash(ctx(t), []byte("nope"))
			wantErr(t, "GetCredentialByHash", err, store.ErrNotFound)
		}},
		{"DuplicateHashIsConflict", func(t *testing.T, s store.Store) {
			tm := mkTeam(t, s)
			c := mkCredential(t, s, tm.ID, store.KindIntegration, uuid.Nil, now())
			c.ID = newID(t)
			wantErr(t, "CreateCredential same hash", s.CreateCredential(ctx(t), c), store.ErrConflict)
		}},
		{"ListNewestFirstWithKindFilterAndPages", func(t *testing.T, s store.Store) {
			tm, other := mkTeam(t, s), mkTeam(t, s)
			base := now().Add(-time.Hour)
			var ids []uuid.UUID // creation order
			for i := range 5 {
				kind, user := store.KindIntegration, uuid.Nil
				if i%2 == 1 {
					kind, user = store.KindDevice, newID(t)
				}
				ids = append(ids, mkCredential(t, s, tm.ID, kind, user, base.Add(time.Duration(i)*time.Second)).ID)
			}
			mkCredential(t, s, other.ID, store.KindIntegration, uuid.Nil, base)

			page1, total, err := s.ListCredentials(ctx(t), tm.ID, "", store.Page{Number: 1, Size: 2})
			must(t, "ListCredentials", err)
			if total != 5 || len(page1) != 2 || page1[0].ID != ids[4] || page1[1].ID != ids[3] {
				t.Fatalf("page 1 = %v (total %d), want newest two of %v", credIDs(page1), total, ids)
			}
			page3, total, err := s.ListCredentials(ctx(t), tm.ID, "", store.Page{Number: 3, Size: 2})
			must(t, "ListCredentials", err)
			if total != 5 || len(page3) != 1 || page3[0].ID != ids[0] {
				t.Fatalf("page 3 = %v (total %d), want the oldest", credIDs(page3), total)
			}
			beyond, total, err := s.ListCredentials(ctx(t), tm.ID, "", store.Page{Number: 9, Size: 2})
			must(t, "ListCredentials", err)
			if total != 5 || len(beyond) != 0 {
				t.Fatalf("page beyond the end = %d rows (total %d), want 0 (5)", len(beyond), total)
			}
			devices, total, err := s.ListCredentials(ctx(t), tm.ID, store.KindDevice, store.Page{Number: 1, Size: 10})
			must(t, "ListCredentials device", err)
			if total != 2 || len(devices) != 2 || devices[0].ID != ids[3] || devices[1].ID != ids[1] {
				t.Fatalf("device keys = %v (total %d), want %v", credIDs(devices), total, []uuid.UUID{ids[3], ids[1]})
			}
		}},
		{"RevokeSetsRevokedAtAndIsRepeatable", func(t *testing.T, s store.Store) {
			tm := mkTeam(t, s)
			c := mkCredential(t, s, tm.ID, store.KindIntegration, uuid.Nil, now())
			at := now()
			must(t, "RevokeCredential", s.RevokeCredential(ctx(t), tm.ID, c.ID, at))
			got, err := s.GetCredentialByHash(ctx(t), c.KeyHash)
			must(t, "GetCredentialByHash", err)
			sameTime(t, "RevokedAt", got.RevokedAt, at)
			must(t, "RevokeCredential again", s.RevokeCredential(ctx(t), tm.ID, c.ID, at.Add(time.Minute)))
			got, err = s.GetCredentialByHash(ctx(t), c.KeyHash)
			must(t, "GetCredentialByHash", err)
			if got.RevokedAt == nil {
				t.Fatal("second revoke cleared RevokedAt")
			}
		}},
		{"RevokeOtherTeamOrUnknownIsNotFound", func(t *testing.T, s store.Store) {
			tm, other := mkTeam(t, s), mkTeam(t, s)
			c := mkCredential(t, s, tm.ID, store.KindIntegration, uuid.Nil, now())
			wantErr(t, "revoke from other team", s.RevokeCredential(ctx(t), other.ID, c.ID, now()), store.ErrNotFound)
			wantErr(t, "revoke unknown", s.RevokeCredential(ctx(t), tm.ID, newID(t), now()), store.ErrNotFound)
			got, err := s.GetCredentialByHash(ctx(t), c.KeyHash)
			must(t, "GetCredentialByHash", err)
			if got.RevokedAt != nil {
				t.Fatal("a refused revoke revoked the key")
			}
		}},
		{"TouchSetsLastUsedAt", func(t *testing.T, s store.Store) {
			tm := mkTeam(t, s)
			c := mkCredential(t, s, tm.ID, store.KindIntegration, uuid.Nil, now())
			at := now().Add(time.Second)
			must(t, "TouchCredential", s.TouchCredential(ctx(t), c.ID, at))
			got, err := s.GetCredentialByHash(ctx(t), c.KeyHash)
			must(t, "GetCredentialByHash", err)
			sameTime(t, "LastUsedAt", got.LastUsedAt, at)
			wantErr(t, "TouchCredential unknown", s.TouchCredential(ctx(t), newID(t), at), store.ErrNotFound)
		}},
	}
}

func credIDs(cs []store.Credential) []uuid.UUID {
	ids := make([]uuid.UUID, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	return ids
}
