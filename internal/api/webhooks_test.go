package api_test

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/hookd/hookd/internal/store"
)

var secretFormat = regexp.MustCompile(`^whsec_[0-9A-Za-z]{32,}$`)

func TestWebhooks(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) store.Store) {
		t.Run("lifecycle", func(t *testing.T) { testWebhookLifecycle(t, newEnv(t, newStore(t))) })
		t.Run("validation", func(t *testing.T) { testWebhookValidation(t, newEnv(t, newStore(t))) })
		t.Run("authorization", func(t *testing.T) { testWebhookAuthorization(t, newEnv(t, newStore(t))) })
		t.Run("pagination", func(t *testing.T) { testWebhookPagination(t, newEnv(t, newStore(t))) })
	})
}

func testWebhookLifecycle(t *testing.T, e *env) {
	admin := e.as(e.admin, e.teamA)
	id, secret := e.createWebhook("orders", "https://example.com/hooks?x=1", "task.failed", "task.completed", "task.failed")
	if !secretFormat.MatchString(secret) {
		t.Fatalf("secret %q does not look like whsec_ + 32 base62", secret)
	}
	got := e.do(admin, "GET", "/api/v1/webhooks/"+id, nil)
	expect(t, got, http.StatusOK)
	m := got.json(t)
	if m["webhook_secret"] != secret || m["display_name"] != "orders" || m["webhook_url"] != "https://example.com/hooks?x=1" ||
		m["webhook_status"] != "active" || m["last_delivered_at"] != nil {
		t.Fatalf("unexpected webhook: %s", got.body)
	}
	if fmt.Sprint(m["webhook_events"]) != "[task.completed task.failed]" {
		t.Fatalf("duplicates must collapse: %v", m["webhook_events"])
	}

	// PUT of one field leaves the others alone; {} changes nothing.
	expect(t, e.do(admin, "PUT", "/api/v1/webhooks/"+id, map[string]any{"display_name": "renamed"}), http.StatusOK)
	expect(t, e.do(admin, "PUT", "/api/v1/webhooks/"+id, map[string]any{}), http.StatusOK)
	m = e.do(admin, "GET", "/api/v1/webhooks/"+id, nil).json(t)
	if m["display_name"] != "renamed" || m["webhook_url"] != "https://example.com/hooks?x=1" || m["webhook_secret"] != secret ||
		fmt.Sprint(m["webhook_events"]) != "[task.completed task.failed]" {
		t.Fatalf("PUT changed more than display_name: %v", m)
	}
	r := e.do(admin, "PUT", "/api/v1/webhooks/"+id, map[string]any{"webhook_status": "disabled", "webhook_events": []string{"task.failed"}})
	expect(t, r, http.StatusOK)
	if r.json(t)["id"] != id {
		t.Fatalf("PUT must answer {id}: %s", r.body)
	}
	m = e.do(admin, "GET", "/api/v1/webhooks/"+id, nil).json(t)
	if m["webhook_status"] != "disabled" || fmt.Sprint(m["webhook_events"]) != "[task.failed]" {
		t.Fatalf("PUT did not apply: %v", m)
	}

	// Rotate: the new secret is what GET shows.
	rot := e.do(admin, "POST", "/api/v1/webhooks/"+id+"/rotate-secret", nil)
	expect(t, rot, http.StatusOK)
	newSecret := rot.json(t)["webhook_secret"].(string)
	if newSecret == secret || !secretFormat.MatchString(newSecret) {
		t.Fatalf("rotate returned %q", newSecret)
	}
	if got := e.do(admin, "GET", "/api/v1/webhooks/"+id, nil).json(t)["webhook_secret"]; got != newSecret {
		t.Fatalf("GET after rotate shows %v, want %v", got, newSecret)
	}

	// Delete: 204, then 404 everywhere.
	del := e.do(admin, "DELETE", "/api/v1/webhooks/"+id, nil)
	expect(t, del, http.StatusNoContent)
	if len(del.body) != 0 {
		t.Fatalf("204 with a body: %q", del.body)
	}
	expect(t, e.do(admin, "GET", "/api/v1/webhooks/"+id, nil), http.StatusNotFound)
	expect(t, e.do(admin, "PUT", "/api/v1/webhooks/"+id, map[string]any{"display_name": "x"}), http.StatusNotFound)
	expect(t, e.do(admin, "DELETE", "/api/v1/webhooks/"+id, nil), http.StatusNotFound)
	expect(t, e.do(admin, "POST", "/api/v1/webhooks/"+id+"/rotate-secret", nil), http.StatusNotFound)
}

func testWebhookValidation(t *testing.T, e *env) {
	admin := e.as(e.admin, e.teamA)
	valid := func(over map[string]any) map[string]any {
		b := map[string]any{"display_name": "n", "webhook_url": "https://example.com/h", "webhook_events": []string{"task.completed"}}
		for k, v := range over {
			if v == "<absent>" {
				delete(b, k)
			} else {
				b[k] = v
			}
		}
		return b
	}
	cases := []struct {
		name  string
		body  any
		field string // the message must name it
	}{
		{"http url", valid(map[string]any{"webhook_url": "http://example.com/h"}), "webhook_url"},
		{"2049-char url", valid(map[string]any{"webhook_url": "https://example.com/" + strings.Repeat("a", 2049-len("https://example.com/"))}), "webhook_url"},
		{"user info", valid(map[string]any{"webhook_url": "https://u:p@example.com/"}), "webhook_url"},
		{"fragment", valid(map[string]any{"webhook_url": "https://example.com/#frag"}), "webhook_url"},
		{"relative url", valid(map[string]any{"webhook_url": "/hooks"}), "webhook_url"},
		{"loopback literal", valid(map[string]any{"webhook_url": "https://127.0.0.1/"}), "webhook_url"},
		{"ipv6 loopback", valid(map[string]any{"webhook_url": "https://[::1]:8443/"}), "webhook_url"},
		{"mapped loopback", valid(map[string]any{"webhook_url": "https://[::ffff:127.0.0.1]/"}), "webhook_url"},
		{"metadata address", valid(map[string]any{"webhook_url": "https://169.254.169.254/latest"}), "webhook_url"},
		{"private address", valid(map[string]any{"webhook_url": "https://10.1.2.3/"}), "webhook_url"},
		{"localhost", valid(map[string]any{"webhook_url": "https://localhost:9000/"}), "webhook_url"},
		{"url not a string", valid(map[string]any{"webhook_url": 5}), "webhook_url"},
		{"256-char name", valid(map[string]any{"display_name": strings.Repeat("n", 256)}), "display_name"},
		{"empty name", valid(map[string]any{"display_name": ""}), "display_name"},
		{"missing name", valid(map[string]any{"display_name": "<absent>"}), "display_name"},
		{"empty events", valid(map[string]any{"webhook_events": []string{}}), "webhook_events"},
		{"unknown event", valid(map[string]any{"webhook_events": []string{"task.started"}}), "webhook_events"},
		{"events not a list", valid(map[string]any{"webhook_events": "task.completed"}), "webhook_events"},
		{"null events", valid(map[string]any{"webhook_events": nil}), "webhook_events"},
		{"unknown field", valid(map[string]any{"color": "red"}), "color"},
		{"status at create", valid(map[string]any{"webhook_status": "disabled"}), "webhook_status"},
		{"not an object", []int{1}, "object"},
		{"not json", "{", "JSON"},
		{"two values", `{"display_name":"a"} {}`, "single"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(admin, "POST", "/api/v1/webhooks", c.body)
			expect(t, r, http.StatusBadRequest)
			if msg := r.json(t)["error_message"].(string); !strings.Contains(msg, c.field) {
				t.Fatalf("message %q does not name %q", msg, c.field)
			}
		})
	}
	// A name of exactly 255 characters (multi-byte) and a 2048-char URL are fine.
	long := "https://example.com/" + strings.Repeat("a", 2048-len("https://example.com/"))
	e.createWebhook(strings.Repeat("é", 255), long)

	id, _ := e.createWebhook("target", "https://example.com/t")
	for name, body := range map[string]any{
		"null name":      map[string]any{"display_name": nil},
		"empty url":      map[string]any{"webhook_url": ""},
		"bad status":     map[string]any{"webhook_status": "paused"},
		"empty events":   map[string]any{"webhook_events": []string{}},
		"unknown field":  map[string]any{"webhook_secret": "whsec_x"},
		"private target": map[string]any{"webhook_url": "https://192.168.1.1/"},
	} {
		t.Run("put "+name, func(t *testing.T) {
			expect(t, e.do(admin, "PUT", "/api/v1/webhooks/"+id, body), http.StatusBadRequest)
		})
	}

	t.Run("media type and size", func(t *testing.T) {
		r := e.do(admin, "POST", "/api/v1/webhooks", `{"display_name":"n"}`, "Content-Type", "text/plain")
		expect(t, r, http.StatusUnsupportedMediaType)
		r = e.do(admin, "POST", "/api/v1/webhooks", `{"display_name":"n"}`, "Content-Type", "")
		expect(t, r, http.StatusUnsupportedMediaType)
		r = e.do(admin, "POST", "/api/v1/webhooks", `{"display_name":"`+strings.Repeat("a", 65<<10)+`"}`)
		expect(t, r, http.StatusRequestEntityTooLarge)
		// application/json with a charset is JSON.
		r = e.do(admin, "POST", "/api/v1/webhooks", valid(nil), "Content-Type", "application/json; charset=utf-8")
		expect(t, r, http.StatusCreated)
		// rotate-secret needs no body and no Content-Type.
		expect(t, e.do(admin, "POST", "/api/v1/webhooks/"+id+"/rotate-secret", nil, "Content-Type", ""), http.StatusOK)
	})

	t.Run("malformed ids", func(t *testing.T) {
		for _, bad := range []string{"not-a-uuid", "1234", "019abc12-3456-7890-abcd-ef123456789", "{019abc12-3456-7890-abcd-ef1234567890}"} {
			expect(t, e.do(admin, "GET", "/api/v1/webhooks/"+bad, nil), http.StatusBadRequest)
			expect(t, e.do(admin, "PUT", "/api/v1/webhooks/"+bad, map[string]any{}), http.StatusBadRequest)
			expect(t, e.do(admin, "DELETE", "/api/v1/webhooks/"+bad, nil), http.StatusBadRequest)
			expect(t, e.do(admin, "POST", "/api/v1/webhooks/"+bad+"/rotate-secret", nil), http.StatusBadRequest)
		}
		expect(t, e.do(caller{bearer: e.token(e.admin), team: "not-a-uuid"}, "GET", "/api/v1/webhooks", nil), http.StatusBadRequest)
		expect(t, e.do(admin, "GET", "/api/v1/webhooks/"+uuid.Must(uuid.NewV7()).String(), nil), http.StatusNotFound)
	})

	t.Run("unknown routes and methods", func(t *testing.T) {
		expect(t, e.do(admin, "GET", "/api/v1/nothing", nil), http.StatusNotFound)
		r := e.do(admin, "PATCH", "/api/v1/webhooks/"+id, map[string]any{})
		expect(t, r, http.StatusMethodNotAllowed)
		if r.header.Get("Allow") == "" {
			t.Fatal("405 without Allow")
		}
	})
}

func testWebhookAuthorization(t *testing.T, e *env) {
	body := map[string]any{"display_name": "n", "webhook_url": "https://example.com/h", "webhook_events": []string{"task.completed"}}
	id, _ := e.createWebhook("a", "https://example.com/a")
	idB := func() string {
		r := e.do(e.as(e.adminB, e.teamB), "POST", "/api/v1/webhooks", body)
		expect(t, r, http.StatusCreated)
		return r.json(t)["id"].(string)
	}()

	// Missing or bad credentials.
	expect(t, e.do(caller{}, "GET", "/api/v1/webhooks", nil), http.StatusUnauthorized)
	expect(t, e.do(caller{bearer: "garbage", team: e.teamA.String()}, "GET", "/api/v1/webhooks", nil), http.StatusUnauthorized)
	expect(t, e.do(caller{bearer: e.token(e.admin)}, "GET", "/api/v1/webhooks", nil), http.StatusBadRequest) // no X-Team-ID
	expect(t, e.do(e.as(e.nobody, e.teamA), "GET", "/api/v1/webhooks", nil), http.StatusForbidden)
	expect(t, e.do(e.as(e.admin, e.teamB), "GET", "/api/v1/webhooks", nil), http.StatusForbidden)

	// Viewer: list yes (no secrets), detail and writes no.
	viewer := e.as(e.viewer, e.teamA)
	r := e.do(viewer, "GET", "/api/v1/webhooks", nil)
	expect(t, r, http.StatusOK)
	if strings.Contains(string(r.body), "webhook_secret") || strings.Contains(string(r.body), "whsec_") {
		t.Fatalf("list leaks secrets: %s", r.body)
	}
	expect(t, e.do(viewer, "GET", "/api/v1/webhooks/"+id, nil), http.StatusForbidden)
	expect(t, e.do(viewer, "POST", "/api/v1/webhooks", body), http.StatusForbidden)
	member := e.as(e.member, e.teamA)
	expect(t, e.do(member, "GET", "/api/v1/webhooks", nil), http.StatusOK)
	expect(t, e.do(member, "POST", "/api/v1/webhooks", body), http.StatusForbidden)
	expect(t, e.do(member, "DELETE", "/api/v1/webhooks/"+id, nil), http.StatusForbidden)
	expect(t, e.do(e.as(e.owner, e.teamA), "GET", "/api/v1/webhooks/"+id, nil), http.StatusOK)

	// Integration key: admin rights in its own team, X-Team-ID ignored.
	sk := e.key(e.skKey)
	expect(t, e.do(sk, "POST", "/api/v1/webhooks", body), http.StatusCreated)
	expect(t, e.do(caller{bearer: e.skKey, team: e.teamB.String()}, "GET", "/api/v1/webhooks/"+id, nil), http.StatusOK)
	expect(t, e.do(caller{bearer: e.skKey, team: "junk"}, "GET", "/api/v1/webhooks/"+id, nil), http.StatusOK)
	expect(t, e.do(sk, "GET", "/api/v1/webhooks/"+idB, nil), http.StatusNotFound)

	// Device key: the viewer's role.
	dk := e.key(e.dkKey)
	expect(t, e.do(dk, "GET", "/api/v1/webhooks", nil), http.StatusOK)
	expect(t, e.do(dk, "POST", "/api/v1/webhooks", body), http.StatusForbidden)

	// Another team's webhook is 404 for every operation, never 403.
	admin := e.as(e.admin, e.teamA)
	expect(t, e.do(admin, "GET", "/api/v1/webhooks/"+idB, nil), http.StatusNotFound)
	expect(t, e.do(admin, "PUT", "/api/v1/webhooks/"+idB, map[string]any{"display_name": "x"}), http.StatusNotFound)
	expect(t, e.do(admin, "DELETE", "/api/v1/webhooks/"+idB, nil), http.StatusNotFound)
	expect(t, e.do(admin, "POST", "/api/v1/webhooks/"+idB+"/rotate-secret", nil), http.StatusNotFound)
	expect(t, e.do(e.as(e.viewer, e.teamA), "GET", "/api/v1/webhooks/"+idB+"/deliveries", nil), http.StatusNotFound)
	// Team B still has it, untouched.
	if e.do(e.as(e.adminB, e.teamB), "GET", "/api/v1/webhooks/"+idB, nil).json(t)["display_name"] != "n" {
		t.Fatal("team B's webhook changed")
	}
}

func testWebhookPagination(t *testing.T, e *env) {
	admin := e.as(e.admin, e.teamA)
	var ids []string
	for i := 0; i < 25; i++ {
		id, _ := e.createWebhook(fmt.Sprintf("w%02d", i), "https://example.com/p")
		ids = append(ids, id)
	}
	expect(t, e.do(admin, "PUT", "/api/v1/webhooks/"+ids[0], map[string]any{"webhook_status": "disabled"}), http.StatusOK)
	page := func(q string) (names []string, meta map[string]any) {
		r := e.do(admin, "GET", "/api/v1/webhooks"+q, nil)
		expect(t, r, http.StatusOK)
		m := r.json(t)
		for _, w := range m["webhook_list"].([]any) {
			names = append(names, w.(map[string]any)["display_name"].(string))
		}
		return names, m["page_meta"].(map[string]any)
	}
	names, meta := page("")
	if len(names) != 20 || names[0] != "w24" || fmt.Sprint(meta) != "map[current_page:1 per_page:20 total_count:25]" {
		t.Fatalf("default page: %v %v", names, meta)
	}
	names, meta = page("?current_page=2&per_page=20")
	if len(names) != 5 || names[4] != "w00" || meta["total_count"].(float64) != 25 {
		t.Fatalf("page 2: %v %v", names, meta)
	}
	names, _ = page("?current_page=9")
	if len(names) != 0 {
		t.Fatalf("past the end: %v", names)
	}
	names, meta = page("?webhook_status=disabled")
	if len(names) != 1 || names[0] != "w00" || meta["total_count"].(float64) != 1 {
		t.Fatalf("status filter: %v %v", names, meta)
	}
	names, meta = page("?webhook_status=active&per_page=100")
	if len(names) != 24 || meta["total_count"].(float64) != 24 {
		t.Fatalf("active filter: %d %v", len(names), meta)
	}
	for _, q := range []string{"?per_page=0", "?per_page=101", "?per_page=abc", "?current_page=0", "?current_page=-1", "?current_page=1.5", "?webhook_status=paused"} {
		expect(t, e.do(admin, "GET", "/api/v1/webhooks"+q, nil), http.StatusBadRequest)
	}
	// Team B sees none of team A's.
	if _, meta := func() ([]string, map[string]any) {
		r := e.do(e.as(e.adminB, e.teamB), "GET", "/api/v1/webhooks", nil)
		return nil, r.json(t)["page_meta"].(map[string]any)
	}(); meta["total_count"].(float64) != 0 {
		t.Fatalf("team B sees %v", meta)
	}
}
