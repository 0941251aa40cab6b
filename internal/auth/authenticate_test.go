package auth

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/hookd/hookd/internal/store"
)

// memDir is an in-memory Directory that counts what it is asked.
type memDir struct {
	mu        sync.Mutex
	creds     map[string]store.Credential // by string(hash)
	members   map[[2]uuid.UUID]string     // (team, user) → role
	touches   []time.Time
	lookups   int
	credErr   error // GetCredentialByHash fails with it
	memberErr error // GetMember fails with it
	touchErr  error // TouchCredential fails with it
}

func newMemDir() *memDir {
	return &memDir{creds: map[string]store.Credential{}, members: map[[2]uuid.UUID]string{}}
}

func (d *memDir) GetCredentialByHash(_ context.Context, hash []byte) (store.Credential, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.lookups++
	if d.credErr != nil {
		return store.Credential{}, d.credErr
	}
	c, ok := d.creds[string(hash)]
	if !ok {
		return store.Credential{}, store.ErrNotFound
	}
	return c, nil
}

func (d *memDir) GetMember(_ context.Context, team, user uuid.UUID) (store.Member, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.memberErr != nil {
		return store.Member{}, d.memberErr
	}
	role, ok := d.members[[2]uuid.UUID{team, user}]
	if !ok {
		return store.Member{}, store.ErrNotFound
	}
	return store.Member{TeamID: team, UserID: user, Role: role}, nil
}

func (d *memDir) TouchCredential(_ context.Context, id uuid.UUID, at time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.touches = append(d.touches, at)
	if d.touchErr != nil {
		return d.touchErr
	}
	for h, c := range d.creds {
		if c.ID == id {
			c.LastUsedAt = &at
			d.creds[h] = c
		}
	}
	return nil
}

func (d *memDir) setMember(team, user uuid.UUID, role string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if role == "" {
		delete(d.members, [2]uuid.UUID{team, user})
		return
	}
	d.members[[2]uuid.UUID{team, user}] = role
}

func (d *memDir) touchCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.touches)
}

// addKey stores a fresh key of kind for team (and user, for device keys)
// and returns the raw key; edit may change the row before it is stored.
func (d *memDir) addKey(t *testing.T, kind string, team, user uuid.UUID, edit func(*store.Credential)) (string, store.Credential) {
	t.Helper()
	raw, prefix, hash, err := NewKey(kind)
	if err != nil {
		t.Fatal(err)
	}
	c := store.Credential{ID: uuid.New(), TeamID: team, UserID: user, Kind: kind, KeyPrefix: prefix, KeyHash: hash}
	if edit != nil {
		edit(&c)
	}
	d.mu.Lock()
	d.creds[string(hash)] = c
	d.mu.Unlock()
	return raw, c
}

type fixture struct {
	dir   *memDir
	auth  *Authenticator
	clock time.Time
	team  uuid.UUID
	user  uuid.UUID
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{dir: newMemDir(), clock: testClock, team: uuid.New(), user: uuid.New()}
	f.auth = &Authenticator{
		Dir: f.dir,
		JWT: newTestVerifier(t, JWTConfig{HS256Secret: testHSSecret}, nil),
		Now: func() time.Time { return f.clock },
	}
	f.dir.setMember(f.team, f.user, "member")
	return f
}

func (f *fixture) token(t *testing.T, user uuid.UUID) string {
	return sign(t, jwt.SigningMethodHS256, "", testHSSecret, claimsFor(user))
}

// wantError checks the status and that the message names what it should
// and leaks none of the secrets given.
func wantError(t *testing.T, err error, status int, mention string, secrets ...string) {
	t.Helper()
	var ae *Error
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want *Error with status %d", err, status)
	}
	if ae.Status != status {
		t.Fatalf("status %d (%q), want %d", ae.Status, ae.Message, status)
	}
	if !strings.Contains(ae.Message, mention) {
		t.Fatalf("message %q does not mention %q", ae.Message, mention)
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(ae.Message, s) {
			t.Fatalf("message %q leaks a credential", ae.Message)
		}
	}
}

func TestAuthorizationHeaderParsing(t *testing.T) {
	f := newFixture(t)
	raw, _ := f.dir.addKey(t, store.KindIntegration, f.team, uuid.Nil, nil)
	for _, h := range []string{"", "   ", "Bearer", "Bearer ", "Basic " + raw, raw, "Bearer " + raw + " extra", "Token " + raw} {
		_, err := f.auth.Authenticate(t.Context(), h, "")
		wantError(t, err, http.StatusUnauthorized, "Authorization", raw)
	}
	for _, h := range []string{"Bearer " + raw, "bearer " + raw, "BEARER  " + raw, " Bearer " + raw + " "} {
		if _, err := f.auth.Authenticate(t.Context(), h, ""); err != nil {
			t.Errorf("%q: %v", strings.Replace(h, raw, "<key>", 1), err)
		}
	}
}

func TestIntegrationKeyActsAsTeamAdmin(t *testing.T) {
	f := newFixture(t)
	raw, cred := f.dir.addKey(t, store.KindIntegration, f.team, uuid.Nil, nil)
	// X-Team-ID is ignored for keys, even another team or garbage.
	for _, teamHeader := range []string{"", uuid.New().String(), "not-a-uuid"} {
		p, err := f.auth.Authenticate(t.Context(), "Bearer "+raw, teamHeader)
		if err != nil {
			t.Fatalf("X-Team-ID %q: %v", teamHeader, err)
		}
		want := Principal{Kind: CallerIntegration, UserID: uuid.Nil, TeamID: f.team, Role: RoleAdmin, CredentialID: cred.ID}
		if p != want {
			t.Fatalf("principal %+v, want %+v", p, want)
		}
	}
}

func TestDeviceKeyUsesTheUsersCurrentRole(t *testing.T) {
	f := newFixture(t)
	raw, cred := f.dir.addKey(t, store.KindDevice, f.team, f.user, nil)
	auth := func() (Principal, error) { return f.auth.Authenticate(t.Context(), "Bearer "+raw, uuid.New().String()) }

	p, err := auth()
	if err != nil {
		t.Fatal(err)
	}
	want := Principal{Kind: CallerDevice, UserID: f.user, TeamID: f.team, Role: RoleMember, CredentialID: cred.ID}
	if p != want {
		t.Fatalf("principal %+v, want %+v", p, want)
	}
	f.dir.setMember(f.team, f.user, "owner")
	if p, _ := auth(); p.Role != RoleOwner {
		t.Fatalf("role after promotion = %s, want owner", p.Role)
	}
	f.dir.setMember(f.team, f.user, "")
	_, err = auth()
	wantError(t, err, http.StatusForbidden, "member", raw)
}

func TestKeyRejections(t *testing.T) {
	f := newFixture(t)
	past, future := f.clock.Add(-time.Second), f.clock.Add(time.Second)
	now := f.clock
	revoked, _ := f.dir.addKey(t, store.KindIntegration, f.team, uuid.Nil, func(c *store.Credential) { c.RevokedAt = &past })
	revokedLater, _ := f.dir.addKey(t, store.KindIntegration, f.team, uuid.Nil, func(c *store.Credential) { c.RevokedAt = &future })
	expired, _ := f.dir.addKey(t, store.KindDevice, f.team, f.user, func(c *store.Credential) { c.ExpiresAt = &past })
	expiresNow, _ := f.dir.addKey(t, store.KindIntegration, f.team, uuid.Nil, func(c *store.Credential) { c.ExpiresAt = &now })
	wrongKind, _ := f.dir.addKey(t, store.KindIntegration, f.team, uuid.Nil, func(c *store.Credential) { c.Kind = store.KindDevice })
	unknown, _, _, _ := NewKey(store.KindDevice)

	for name, tc := range map[string]struct{ raw, mention string }{
		"revoked":               {revoked, "revoked"},
		"revocation in future":  {revokedLater, "revoked"},
		"expired":               {expired, "expired"},
		"expires this instant":  {expiresNow, "expired"},
		"prefix and row differ": {wrongKind, "not valid"},
		"unknown":               {unknown, "not valid"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := f.auth.Authenticate(t.Context(), "Bearer "+tc.raw, f.team.String())
			wantError(t, err, http.StatusUnauthorized, tc.mention, tc.raw, tc.raw[3:])
		})
	}
	if n := f.dir.touchCount(); n != 0 {
		t.Fatalf("rejected keys were touched %d times", n)
	}

	valid, _ := f.dir.addKey(t, store.KindIntegration, f.team, uuid.Nil, func(c *store.Credential) { c.ExpiresAt = &future })
	if _, err := f.auth.Authenticate(t.Context(), "Bearer "+valid, ""); err != nil {
		t.Fatalf("key expiring in a second refused: %v", err)
	}
}

func TestMalformedKeysAreRefusedWithoutLookup(t *testing.T) {
	f := newFixture(t)
	for _, raw := range []string{"sk-", "sk-short", "dk-" + strings.Repeat("a", 31), "sk-" + strings.Repeat("a", 31) + "!", "sk-" + strings.Repeat("a", 300)} {
		_, err := f.auth.Authenticate(t.Context(), "Bearer "+raw, "")
		wantError(t, err, http.StatusUnauthorized, "malformed", raw)
	}
	if f.dir.lookups != 0 {
		t.Fatalf("%d store lookups for malformed keys", f.dir.lookups)
	}
}

func TestStoreFailuresAreInternalErrors(t *testing.T) {
	f := newFixture(t)
	boom := errors.New("database on fire")
	raw, _ := f.dir.addKey(t, store.KindDevice, f.team, f.user, nil)

	f.dir.credErr = boom
	_, err := f.auth.Authenticate(t.Context(), "Bearer "+raw, "")
	var ae *Error
	if !errors.Is(err, boom) || errors.As(err, &ae) {
		t.Fatalf("credential lookup failure: err = %v, want the store error, not an *Error", err)
	}
	f.dir.credErr = nil

	f.dir.memberErr = boom
	_, err = f.auth.Authenticate(t.Context(), "Bearer "+raw, "")
	if !errors.Is(err, boom) || errors.As(err, &ae) {
		t.Fatalf("member lookup failure (key): err = %v", err)
	}
	_, err = f.auth.Authenticate(t.Context(), "Bearer "+f.token(t, f.user), f.team.String())
	if !errors.Is(err, boom) || errors.As(err, &ae) {
		t.Fatalf("member lookup failure (JWT): err = %v", err)
	}
	f.dir.memberErr = nil

	f.dir.setMember(f.team, f.user, "superuser")
	_, err = f.auth.Authenticate(t.Context(), "Bearer "+raw, "")
	if err == nil || errors.As(err, &ae) {
		t.Fatalf("unknown stored role: err = %v, want an internal error", err)
	}
}

func TestTouchAtMostOncePerMinute(t *testing.T) {
	f := newFixture(t)
	raw, _ := f.dir.addKey(t, store.KindIntegration, f.team, uuid.Nil, nil)
	auth := func() {
		t.Helper()
		if _, err := f.auth.Authenticate(t.Context(), "Bearer "+raw, ""); err != nil {
			t.Fatal(err)
		}
	}
	auth()
	if n := f.dir.touchCount(); n != 1 || !f.dir.touches[0].Equal(f.clock) {
		t.Fatalf("first use: %d touches %v, want 1 at %v", n, f.dir.touches, f.clock)
	}
	f.clock = f.clock.Add(59 * time.Second)
	auth()
	auth()
	if n := f.dir.touchCount(); n != 1 {
		t.Fatalf("within a minute: %d touches, want 1", n)
	}
	f.clock = f.clock.Add(time.Second)
	auth()
	if n := f.dir.touchCount(); n != 2 {
		t.Fatalf("after a minute: %d touches, want 2", n)
	}
}

// A fresh last_used_at written by another process counts too: this
// process does not write again.
func TestTouchSkippedWhenRowIsFresh(t *testing.T) {
	f := newFixture(t)
	recent := f.clock.Add(-30 * time.Second)
	raw, _ := f.dir.addKey(t, store.KindIntegration, f.team, uuid.Nil, func(c *store.Credential) { c.LastUsedAt = &recent })
	if _, err := f.auth.Authenticate(t.Context(), "Bearer "+raw, ""); err != nil {
		t.Fatal(err)
	}
	if n := f.dir.touchCount(); n != 0 {
		t.Fatalf("%d touches of a row used 30 s ago, want 0", n)
	}
}

func TestTouchFailureDoesNotFailTheRequest(t *testing.T) {
	f := newFixture(t)
	f.dir.touchErr = errors.New("read-only replica")
	raw, _ := f.dir.addKey(t, store.KindDevice, f.team, f.user, nil)
	for range 3 {
		if _, err := f.auth.Authenticate(t.Context(), "Bearer "+raw, ""); err != nil {
			t.Fatalf("request failed because the touch did: %v", err)
		}
	}
	if n := f.dir.touchCount(); n != 1 {
		t.Fatalf("%d touch attempts, want 1 (a failing store is not retried on every request)", n)
	}
}

func TestConcurrentUsesTouchOnce(t *testing.T) {
	f := newFixture(t)
	raw, _ := f.dir.addKey(t, store.KindIntegration, f.team, uuid.Nil, nil)
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			if _, err := f.auth.Authenticate(context.Background(), "Bearer "+raw, ""); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := f.dir.touchCount(); n != 1 {
		t.Fatalf("%d touches from 32 concurrent requests, want 1", n)
	}
}

func TestJWTCaller(t *testing.T) {
	f := newFixture(t)
	tok := f.token(t, f.user)
	p, err := f.auth.Authenticate(t.Context(), "Bearer "+tok, f.team.String())
	if err != nil {
		t.Fatal(err)
	}
	want := Principal{Kind: CallerUser, UserID: f.user, TeamID: f.team, Role: RoleMember}
	if p != want {
		t.Fatalf("principal %+v, want %+v", p, want)
	}
	if f.dir.lookups != 0 || f.dir.touchCount() != 0 {
		t.Fatal("a JWT caller touched the credential table")
	}
}

func TestJWTCallerRejections(t *testing.T) {
	f := newFixture(t)
	good := f.token(t, f.user)
	expiredClaims := claimsFor(f.user)
	expiredClaims["exp"] = testClock.Add(-time.Hour).Unix()
	expired := sign(t, jwt.SigningMethodHS256, "", testHSSecret, expiredClaims)
	team := f.team.String()

	cases := []struct {
		name, token, team string
		status            int
		mention           string
	}{
		{"bad token beats missing team", "not.a.jwt", "", 401, "bearer token"},
		{"expired", expired, team, 401, "expired"},
		{"missing X-Team-ID", good, "", 400, "X-Team-ID"},
		{"X-Team-ID not a UUID", good, "team-1", 400, "X-Team-ID"},
		{"X-Team-ID urn form", good, "urn:uuid:" + team, 400, "X-Team-ID"},
		{"not a member", good, uuid.New().String(), 403, "X-Team-ID"},
		{"member of another team only", f.token(t, uuid.New()), team, 403, "member"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.auth.Authenticate(t.Context(), "Bearer "+tc.token, tc.team)
			wantError(t, err, tc.status, tc.mention, tc.token)
		})
	}

	noJWT := &Authenticator{Dir: f.dir}
	_, err := noJWT.Authenticate(t.Context(), "Bearer "+good, team)
	wantError(t, err, http.StatusUnauthorized, "JWT", good)
}

func TestZeroNowUsesWallClock(t *testing.T) {
	d := newMemDir()
	team := uuid.New()
	hourAgo := time.Now().Add(-time.Hour)
	raw, _ := d.addKey(t, store.KindIntegration, team, uuid.Nil, func(c *store.Credential) { c.ExpiresAt = &hourAgo })
	_, err := (&Authenticator{Dir: d}).Authenticate(t.Context(), "Bearer "+raw, "")
	wantError(t, err, http.StatusUnauthorized, "expired", raw)
}
