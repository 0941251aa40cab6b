package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookd/hookd/internal/api"
	"github.com/hookd/hookd/internal/api/openapitest"
	"github.com/hookd/hookd/internal/auth"
	"github.com/hookd/hookd/internal/ingest"
	"github.com/hookd/hookd/internal/netguard"
	"github.com/hookd/hookd/internal/secretbox"
	"github.com/hookd/hookd/internal/store"
	"github.com/hookd/hookd/internal/store/postgres"
	"github.com/hookd/hookd/internal/store/sqlite"
)

const ingestToken = "ingest-token-for-tests"

// testRetention is the API's --retention in these tests.
const testRetention = 24 * time.Hour

var jwtSecret = []byte("test-jwt-secret-0123456789abcdef")

// backends runs fn once per store: SQLite always, PostgreSQL when
// HOOKD_TEST_DATABASE_URL is set (skipped with a message otherwise).
func backends(t *testing.T, fn func(t *testing.T, newStore func(t *testing.T) store.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		fn(t, func(t *testing.T) store.Store {
			st, err := sqlite.Open(context.Background(), sqlite.Options{Path: filepath.Join(t.TempDir(), "hookd.db")})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		})
	})
	t.Run("postgres", func(t *testing.T) {
		fn(t, func(t *testing.T) store.Store { return postgres.TestStore(t) })
	})
}

// env is a running API over a real store, with a team A (one user per role,
// an integration key, a device key of the viewer) and a team B (an admin).
type env struct {
	t    *testing.T
	srv  *httptest.Server
	st   store.Store
	box  *secretbox.Box
	spec *openapitest.Spec
	reg  *prometheus.Registry // the API's metrics

	teamA, teamB                                 uuid.UUID
	owner, admin, member, viewer, adminB, nobody uuid.UUID
	skKey, dkKey                                 string
	now                                          time.Time
}

func newEnv(t *testing.T, st store.Store) *env {
	t.Helper()
	ctx := context.Background()
	key, err := secretbox.ParseKey(mustGenerateKey(t))
	if err != nil {
		t.Fatal(err)
	}
	box, err := secretbox.New(key)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := auth.NewVerifier(ctx, auth.JWTConfig{HS256Secret: jwtSecret})
	if err != nil {
		t.Fatal(err)
	}
	policy, err := netguard.NewPolicy(nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, st: st, box: box, spec: openapitest.Load(t), now: time.Now().UTC().Truncate(time.Second),
		reg: prometheus.NewRegistry()}
	instruments, err := api.NewInstruments(e.reg)
	if err != nil {
		t.Fatal(err)
	}
	srv := &api.Server{
		Store: st, Auth: &auth.Authenticator{Dir: st, JWT: verifier}, Box: box, Policy: policy,
		Ingest: &ingest.Service{Store: st}, IngestToken: ingestToken, Retention: testRetention,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Instruments: instruments,
	}
	e.srv = httptest.NewServer(srv.Handler())
	t.Cleanup(e.srv.Close)

	e.teamA, e.teamB = e.newTeam("Team A"), e.newTeam("Team B")
	e.owner = e.addMember(e.teamA, auth.RoleOwner)
	e.admin = e.addMember(e.teamA, auth.RoleAdmin)
	e.member = e.addMember(e.teamA, auth.RoleMember)
	e.viewer = e.addMember(e.teamA, auth.RoleViewer)
	e.adminB = e.addMember(e.teamB, auth.RoleAdmin)
	e.nobody = uuid.Must(uuid.NewV7())
	e.skKey = e.newKey(e.teamA, uuid.Nil, store.KindIntegration, 0)
	e.dkKey = e.newKey(e.teamA, e.viewer, store.KindDevice, 0)
	return e
}

func mustGenerateKey(t *testing.T) string {
	k, err := secretbox.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func (e *env) newTeam(name string) uuid.UUID {
	id := uuid.Must(uuid.NewV7())
	if err := e.st.CreateTeam(context.Background(), store.Team{ID: id, DisplayName: name, CreatedAt: e.now}); err != nil {
		e.t.Fatal(err)
	}
	return id
}

func (e *env) addMember(team uuid.UUID, role auth.Role) uuid.UUID {
	id := uuid.Must(uuid.NewV7())
	if err := e.st.PutMember(context.Background(), store.Member{TeamID: team, UserID: id, Role: string(role), CreatedAt: e.now}); err != nil {
		e.t.Fatal(err)
	}
	return id
}

func (e *env) newKey(team, user uuid.UUID, kind string, days int) string {
	c, raw, err := auth.NewCredential(team, user, kind, "test key", e.now, days)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.st.CreateCredential(context.Background(), c); err != nil {
		e.t.Fatal(err)
	}
	return raw
}

func (e *env) token(user uuid.UUID) string {
	tok, err := auth.MintHS256(jwtSecret, user, time.Hour, "", "", time.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// caller is how a request authenticates.
type caller struct {
	bearer string
	team   string // X-Team-ID; "" omits it
}

func (e *env) as(user uuid.UUID, team uuid.UUID) caller {
	return caller{bearer: e.token(user), team: team.String()}
}

func (e *env) key(raw string) caller { return caller{bearer: raw} }

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

// do sends a request and validates the answer against api/openapi.yaml.
// body: nil (none), a string (sent as is) or any value (JSON-encoded).
func (e *env) do(c caller, method, path string, body any, headers ...string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	if c.team != "" {
		req.Header.Set("X-Team-ID", c.team)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	e.spec.ValidateResponse(e.t, req, res.StatusCode, res.Header, data)
	return response{status: res.StatusCode, header: res.Header, body: data}
}

// expect fails unless the status matches; error answers must carry the envelope.
func expect(t *testing.T, r response, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if status >= 400 {
		var env struct {
			ErrorMessage string `json:"error_message"`
		}
		if err := json.Unmarshal(r.body, &env); err != nil || env.ErrorMessage == "" {
			t.Fatalf("error answer without the JSON envelope: %s", r.body)
		}
		if status == http.StatusUnauthorized && r.header.Get("WWW-Authenticate") != "Bearer" {
			t.Fatalf("401 without WWW-Authenticate: Bearer")
		}
	}
}

// createWebhook creates a webhook as the team A admin and returns its id and secret.
func (e *env) createWebhook(name, url string, events ...string) (string, string) {
	e.t.Helper()
	if len(events) == 0 {
		events = []string{"task.completed", "task.failed"}
	}
	r := e.do(e.as(e.admin, e.teamA), "POST", "/api/v1/webhooks",
		map[string]any{"display_name": name, "webhook_url": url, "webhook_events": events})
	expect(e.t, r, http.StatusCreated)
	m := r.json(e.t)
	return m["id"].(string), m["webhook_secret"].(string)
}
