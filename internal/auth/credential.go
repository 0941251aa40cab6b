package auth

import (
	"time"

	"github.com/google/uuid"
	"github.com/hookd/hookd/internal/store"
)

// NewCredential makes a credential row and its raw key (shown once). The API
// and the command line both create keys through it. userID is the key's
// user for device keys, and the creating user (for the record) or uuid.Nil
// for integration keys; expiresInDays 0 means no expiry.
func NewCredential(teamID, userID uuid.UUID, kind, name string, now time.Time, expiresInDays int) (store.Credential, string, error) {
	raw, prefix, hash, err := NewKey(kind)
	if err != nil {
		return store.Credential{}, "", err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return store.Credential{}, "", err
	}
	c := store.Credential{
		ID: id, TeamID: teamID, UserID: userID, Kind: kind, DisplayName: name,
		KeyPrefix: prefix, KeyHash: hash, CreatedAt: now,
	}
	if expiresInDays > 0 {
		exp := now.Add(time.Duration(expiresInDays) * 24 * time.Hour)
		c.ExpiresAt = &exp
	}
	return c, raw, nil
}
