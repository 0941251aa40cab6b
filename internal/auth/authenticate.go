package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/hookd/hookd/internal/store"
)

// touchInterval is how stale a key's last_used_at may get: a busy key costs
// one store write per interval, not one per request.
const touchInterval = time.Minute

// Directory is what authentication reads from the store (store.Store
// satisfies it).
type Directory interface {
	GetCredentialByHash(ctx context.Context, hash []byte) (store.Credential, error)
	GetMember(ctx context.Context, teamID, userID uuid.UUID) (store.Member, error)
	TouchCredential(ctx context.Context, id uuid.UUID, at time.Time) error
}

// Authenticator resolves request credentials to a Principal. The zero value
// of the unexported state is ready; Dir is required. Safe for concurrent use.
type Authenticator struct {
	Dir Directory
	JWT *Verifier        // nil: every JWT is refused (401)
	Now func() time.Time // nil: time.Now

	mu      sync.Mutex
	touched map[uuid.UUID]time.Time // credential → last touch this process made
}

// Authenticate checks the Authorization header ("Bearer <token>") and, for
// JWT callers, the X-Team-ID header. Failures are *Error (401, 403 or 400);
// any other error means the store failed and maps to 500.
func (a *Authenticator) Authenticate(ctx context.Context, authorization, teamHeader string) (Principal, error) {
	token, aerr := bearerToken(authorization)
	if aerr != nil {
		return Principal{}, aerr
	}
	if kind := keyKind(token); kind != "" {
		return a.authenticateKey(ctx, kind, token)
	}
	return a.authenticateJWT(ctx, token, teamHeader)
}

// bearerToken extracts the token. The scheme is case-insensitive (RFC 7235).
func bearerToken(header string) (string, *Error) {
	if strings.TrimSpace(header) == "" {
		return "", unauthorized("Authorization header is missing: send \"Authorization: Bearer <token>\"")
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" || strings.ContainsAny(token, " \t") {
		return "", unauthorized("Authorization header must be \"Bearer <token>\"")
	}
	return token, nil
}

func (a *Authenticator) authenticateKey(ctx context.Context, kind, raw string) (Principal, error) {
	if !wellFormedKey(raw) {
		return Principal{}, unauthorized("API key in the Authorization header is malformed")
	}
	cred, err := a.Dir.GetCredentialByHash(ctx, HashKey(raw))
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, unauthorized("API key in the Authorization header is not valid")
	}
	if err != nil {
		return Principal{}, fmt.Errorf("auth: look up API key: %w", err)
	}
	now := a.now()
	switch {
	case cred.Kind != kind: // an sk- key must be an integration row, dk- a device row
		return Principal{}, unauthorized("API key in the Authorization header is not valid")
	case cred.RevokedAt != nil:
		return Principal{}, unauthorized("API key in the Authorization header has been revoked")
	case cred.ExpiresAt != nil && !now.Before(*cred.ExpiresAt):
		return Principal{}, unauthorized("API key in the Authorization header has expired")
	}

	p := Principal{TeamID: cred.TeamID, CredentialID: cred.ID}
	if kind == store.KindIntegration {
		p.Kind, p.Role = CallerIntegration, RoleAdmin
	} else {
		// A device key carries its user's role as it is now.
		role, err := a.role(ctx, cred.TeamID, cred.UserID, "the user of this device key is no longer a member of its team")
		if err != nil {
			return Principal{}, err
		}
		p.Kind, p.UserID, p.Role = CallerDevice, cred.UserID, role
	}
	a.touch(ctx, cred, now)
	return p, nil
}

func (a *Authenticator) authenticateJWT(ctx context.Context, token, teamHeader string) (Principal, error) {
	if a.JWT == nil {
		return Principal{}, unauthorized("bearer token is not an API key, and JWT authentication is not configured")
	}
	userID, err := a.JWT.Verify(token)
	if err != nil {
		return Principal{}, err
	}
	teamID, terr := parseTeamHeader(teamHeader)
	if terr != nil {
		return Principal{}, terr
	}
	role, err := a.role(ctx, teamID, userID, "you are not a member of the team in X-Team-ID")
	if err != nil {
		return Principal{}, err
	}
	return Principal{Kind: CallerUser, UserID: userID, TeamID: teamID, Role: role}, nil
}

// parseTeamHeader accepts only the canonical 36-character UUID form.
func parseTeamHeader(h string) (uuid.UUID, *Error) {
	h = strings.TrimSpace(h)
	if h == "" {
		return uuid.Nil, badRequest("X-Team-ID header is required with a user token")
	}
	id, err := uuid.Parse(h)
	if err != nil || len(h) != 36 {
		return uuid.Nil, badRequest("X-Team-ID header must be a team UUID")
	}
	return id, nil
}

// role reads the user's current role in the team; not a member is 403.
func (a *Authenticator) role(ctx context.Context, teamID, userID uuid.UUID, notMember string) (Role, error) {
	m, err := a.Dir.GetMember(ctx, teamID, userID)
	if errors.Is(err, store.ErrNotFound) {
		return "", forbidden(notMember)
	}
	if err != nil {
		return "", fmt.Errorf("auth: look up membership: %w", err)
	}
	r, ok := ParseRole(m.Role)
	if !ok {
		return "", fmt.Errorf("auth: member has unknown role %q in the store", m.Role)
	}
	return r, nil
}

// touch records last_used_at at most once per touchInterval per credential:
// skipped when the row (possibly written by another process) or this
// process's own memory says it is fresh. A failed write is logged and
// otherwise ignored: bookkeeping must not fail a request.
func (a *Authenticator) touch(ctx context.Context, cred store.Credential, now time.Time) {
	if cred.LastUsedAt != nil && now.Sub(*cred.LastUsedAt) < touchInterval {
		return
	}
	a.mu.Lock()
	if a.touched == nil {
		a.touched = make(map[uuid.UUID]time.Time)
	}
	if last, ok := a.touched[cred.ID]; ok && now.Sub(last) < touchInterval {
		a.mu.Unlock()
		return
	}
	a.touched[cred.ID] = now
	if len(a.touched) > 10000 { // forget stale entries so the map stays small
		for id, t := range a.touched {
			if now.Sub(t) >= touchInterval {
				delete(a.touched, id)
			}
		}
	}
	a.mu.Unlock()
	if err := a.Dir.TouchCredential(ctx, cred.ID, now); err != nil {
		slog.WarnContext(ctx, "could not record API key use", "credential_id", cred.ID, "error", err)
	}
}

func (a *Authenticator) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}
