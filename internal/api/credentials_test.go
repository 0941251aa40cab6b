package api_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hookd/hookd/internal/auth"
	"github.com/hookd/hookd/internal/store"
)

func TestCredentialsAndAuthentication(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) store.Store) {
		t.Run("credentials", func(t *testing.T) { testCredentials(t, newEnv(t, newStore(t))) })
		t.Run("tokens", func(t *testing.T) { testTokens(t, newEnv(t, newStore(t))) })
		t.Run("keys", func(t *testing.T) { testKeys(t, newEnv(t, newStore(t))) })
	})
}

var rawKeyFormat = regexp.MustCompile(`^sk-[0-9A-Za-z]{32,}$`)

func testCredentials(t *testing.T, e *env) {
	admin := e.as(e.admin, e.teamA)
	r := e.do(admin, "POST", "/api/v1/credentials", map[string]any{"kind": "integration", "display_name": "ci", "expires_in_days": 30})
	expect(t, r, http.StatusCreated)
	m := r.json(t)
	raw := m["raw_key"].(string)
	if !rawKeyFormat.MatchString(raw) || m["key_prefix"] != raw[:12] || m["kind"] != "integration" {
		t.Fatalf("bad credential answer: %s", r.body)
	}
	id := m["id"].(string)

	// The new key works, as the team, with admin rights.
	expect(t, e.do(e.key(raw), "GET", "/api/v1/webhooks", nil), http.StatusOK)

	list := e.do(admin, "GET", "/api/v1/credentials?kind=integration", nil)
	expect(t, list, http.StatusOK)
	if strings.Contains(string(list.body), raw) || strings.Contains(string(list.body), "raw_key") {
		t.Fatal("the list shows a raw key")
	}
	var body struct {
		Credentials []map[string]any `json:"credentials"`
		PageMeta    map[string]any   `json:"page_meta"`
	}
	if err := json.Unmarshal(list.body, &body); err != nil {
		t.Fatal(err)
	}
	if len(body.Credentials) != 2 || body.PageMeta["total_count"].(float64) != 2 { // ours and the fixture's sk- key
		t.Fatalf("list: %s", list.body)
	}
	first := body.Credentials[0] // newest first
	if first["id"] != id || first["key_status"] != "active" || first["expires_at"] == nil || first["display_name"] != "ci" ||
		first["user_id"] != e.admin.String() {
		t.Fatalf("newest credential: %v", first)
	}
	all := e.do(admin, "GET", "/api/v1/credentials", nil).json(t)
	if all["page_meta"].(map[string]any)["total_count"].(float64) != 3 {
		t.Fatalf("all kinds: %v", all["page_meta"])
	}
	dev := e.do(admin, "GET", "/api/v1/credentials?kind=device", nil).json(t)
	if dev["page_meta"].(map[string]any)["total_count"].(float64) != 1 {
		t.Fatalf("device kind: %v", dev["page_meta"])
	}

	// Revoke: 204, the key stops working, the list says revoked.
	expect(t, e.do(admin, "DELETE", "/api/v1/credentials/"+id, nil), http.StatusNoContent)
	expect(t, e.do(e.key(raw), "GET", "/api/v1/webhooks", nil), http.StatusUnauthorized)
	status := e.do(admin, "GET", "/api/v1/credentials?kind=integration", nil).json(t)["credentials"].([]any)[0].(map[string]any)["key_status"]
	if status != "revoked" {
		t.Fatalf("key_status after revoke: %v", status)
	}

	// Another team's credential is 404; malformed id 400.
	expect(t, e.do(e.as(e.adminB, e.teamB), "DELETE", "/api/v1/credentials/"+id, nil), http.StatusNotFound)
	expect(t, e.do(admin, "DELETE", "/api/v1/credentials/nope", nil), http.StatusBadRequest)

	// Validation.
	for name, b := range map[string]any{
		"device kind":   map[string]any{"kind": "device", "display_name": "x"},
		"missing kind":  map[string]any{"display_name": "x"},
		"empty name":    map[string]any{"kind": "integration", "display_name": ""},
		"101-char name": map[string]any{"kind": "integration", "display_name": strings.Repeat("x", 101)},
		"zero days":     map[string]any{"kind": "integration", "display_name": "x", "expires_in_days": 0},
		"366 days":      map[string]any{"kind": "integration", "display_name": "x", "expires_in_days": 366},
		"float days":    map[string]any{"kind": "integration", "display_name": "x", "expires_in_days": 1.5},
		"unknown field": map[string]any{"kind": "integration", "display_name": "x", "scopes": []string{}},
	} {
		t.Run(name, func(t *testing.T) { expect(t, e.do(admin, "POST", "/api/v1/credentials", b), http.StatusBadRequest) })
	}
	expect(t, e.do(admin, "GET", "/api/v1/credentials?kind=robot", nil), http.StatusBadRequest)

	// Only JWT admins manage credentials.
	good := map[string]any{"kind": "integration", "display_name": "x"}
	expect(t, e.do(e.key(e.skKey), "POST", "/api/v1/credentials", good), http.StatusForbidden)
	expect(t, e.do(e.key(e.skKey), "GET", "/api/v1/credentials", nil), http.StatusForbidden)
	expect(t, e.do(e.key(e.dkKey), "GET", "/api/v1/credentials", nil), http.StatusForbidden)
	expect(t, e.do(e.as(e.member, e.teamA), "POST", "/api/v1/credentials", good), http.StatusForbidden)
	expect(t, e.do(e.as(e.viewer, e.teamA), "GET", "/api/v1/credentials", nil), http.StatusForbidden)
	expect(t, e.do(e.as(e.owner, e.teamA), "GET", "/api/v1/credentials", nil), http.StatusOK)
}

// hs256 signs arbitrary claims, to build tokens the minting helper would not.
func hs256(t *testing.T, header string, claims map[string]any, secret []byte) string {
	c, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding
	unsigned := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString(c)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(unsigned))
	return unsigned + "." + enc.EncodeToString(mac.Sum(nil))
}

func testTokens(t *testing.T, e *env) {
	team := e.teamA.String()
	now := time.Now()
	claims := func(over map[string]any) map[string]any {
		c := map[string]any{"sub": e.admin.String(), "exp": now.Add(time.Hour).Unix(), "iat": now.Unix()}
		for k, v := range over {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		return c
	}
	const hsHeader = `{"alg":"HS256","typ":"JWT"}`
	ok := hs256(t, hsHeader, claims(nil), jwtSecret)
	expect(t, e.do(caller{bearer: ok, team: team}, "GET", "/api/v1/webhooks", nil), http.StatusOK)

	unsignedNone := strings.Join(strings.Split(hs256(t, `{"alg":"none","typ":"JWT"}`, claims(nil), jwtSecret), ".")[:2], ".") + "."
	for name, tok := range map[string]string{
		"expired":          hs256(t, hsHeader, claims(map[string]any{"exp": now.Add(-2 * time.Minute).Unix()}), jwtSecret),
		"no exp":           hs256(t, hsHeader, claims(map[string]any{"exp": nil}), jwtSecret),
		"wrong signature":  hs256(t, hsHeader, claims(nil), []byte("another secret entirely, 32 bytes")),
		"alg none":         unsignedNone,
		"sub not a uuid":   hs256(t, hsHeader, claims(map[string]any{"sub": "alice"}), jwtSecret),
		"not yet valid":    hs256(t, hsHeader, claims(map[string]any{"nbf": now.Add(5 * time.Minute).Unix()}), jwtSecret),
		"garbage":          "a.b.c",
		"truncated":        ok[:len(ok)-5],
		"lower-case basic": "",
	} {
		t.Run(name, func(t *testing.T) {
			c := caller{bearer: tok, team: team}
			if name == "lower-case basic" {
				r := e.do(caller{team: team}, "GET", "/api/v1/webhooks", nil, "Authorization", "Basic dXNlcjpwYXNz")
				expect(t, r, http.StatusUnauthorized)
				return
			}
			expect(t, e.do(c, "GET", "/api/v1/webhooks", nil), http.StatusUnauthorized)
		})
	}
	// Within the 60 s clock skew an expired token still passes.
	skewed := hs256(t, hsHeader, claims(map[string]any{"exp": now.Add(-30 * time.Second).Unix()}), jwtSecret)
	expect(t, e.do(caller{bearer: skewed, team: team}, "GET", "/api/v1/webhooks", nil), http.StatusOK)
}

func testKeys(t *testing.T, e *env) {
	ctx := context.Background()
	// Expired key: 401.
	c, raw, err := auth.NewCredential(e.teamA, uuid.Nil, store.KindIntegration, "old", time.Now().Add(-48*time.Hour), 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.CreateCredential(ctx, c); err != nil {
		t.Fatal(err)
	}
	expect(t, e.do(e.key(raw), "GET", "/api/v1/webhooks", nil), http.StatusUnauthorized)
	// Unknown but well-formed key: 401.
	expect(t, e.do(e.key("sk-"+strings.Repeat("A", 40)), "GET", "/api/v1/webhooks", nil), http.StatusUnauthorized)
	expect(t, e.do(e.key("dk-short"), "GET", "/api/v1/webhooks", nil), http.StatusUnauthorized)

	// A device key follows its user's current role, and stops (403) when the
	// user leaves the team.
	dk := e.key(e.dkKey)
	body := map[string]any{"display_name": "n", "webhook_url": "https://example.com/h", "webhook_events": []string{"task.completed"}}
	expect(t, e.do(dk, "POST", "/api/v1/webhooks", body), http.StatusForbidden)
	if err := e.st.PutMember(ctx, store.Member{TeamID: e.teamA, UserID: e.viewer, Role: "admin", CreatedAt: e.now}); err != nil {
		t.Fatal(err)
	}
	expect(t, e.do(dk, "POST", "/api/v1/webhooks", body), http.StatusCreated)

	devUser := e.addMember(e.teamA, auth.RoleAdmin)
	leaver := e.newKey(e.teamA, devUser, store.KindDevice, 0)
	expect(t, e.do(e.key(leaver), "GET", "/api/v1/webhooks", nil), http.StatusOK)
	otherTeam := e.newTeam("elsewhere")
	strayKey := e.newKey(otherTeam, devUser, store.KindDevice, 0) // user is not a member of otherTeam
	expect(t, e.do(e.key(strayKey), "GET", "/api/v1/webhooks", nil), http.StatusForbidden)
}
