package api_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hookd/hookd/internal/api"

	"github.com/google/uuid"
	"github.com/hookd/hookd/internal/store"
)

func TestIngestAndDeliveryLog(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) store.Store) {
		t.Run("ingest", func(t *testing.T) { testIngest(t, newEnv(t, newStore(t))) })
		t.Run("batch", func(t *testing.T) { testIngestBatch(t, newEnv(t, newStore(t))) })
		t.Run("delivery log", func(t *testing.T) { testDeliveryLog(t, newEnv(t, newStore(t))) })
	})
}

var ingestCaller = caller{bearer: ingestToken}

func completed(team uuid.UUID, task uuid.UUID) map[string]any {
	return map[string]any{"team_id": team.String(), "task_id": task.String(), "task_status": "completed",
		"task_output": map[string]any{"storage_key": "tasks/x/output.png", "image_count": 1}, "task_error": "",
		"timestamp": "2026-02-16T09:00:00Z"}
}

func failed(team uuid.UUID, task uuid.UUID) map[string]any {
	return map[string]any{"team_id": team.String(), "task_id": task.String(), "task_status": "failed",
		"task_output": nil, "task_error": "agent lost"}
}

func newID() uuid.UUID { return uuid.Must(uuid.NewV7()) }

func testIngest(t *testing.T, e *env) {
	e.createWebhook("both", "https://example.com/both")
	e.createWebhook("failures", "https://example.com/f", "task.failed")
	off, _ := e.createWebhook("off", "https://example.com/off")
	expect(t, e.do(e.as(e.admin, e.teamA), "PUT", "/api/v1/webhooks/"+off, map[string]any{"webhook_status": "disabled"}), http.StatusOK)

	// Authentication: no token configured would be 401; a wrong one is 401.
	task := newID()
	expect(t, e.do(caller{}, "POST", "/internal/v1/task-events", completed(e.teamA, task)), http.StatusUnauthorized)
	expect(t, e.do(caller{bearer: "wrong"}, "POST", "/internal/v1/task-events", completed(e.teamA, task)), http.StatusUnauthorized)
	expect(t, e.do(e.as(e.admin, e.teamA), "POST", "/internal/v1/task-events", completed(e.teamA, task)), http.StatusUnauthorized)

	r := e.do(caller{}, "POST", "/internal/v1/task-events", completed(e.teamA, task), "Authorization", "bearer "+ingestToken)
	expect(t, r, http.StatusAccepted) // the scheme is case-insensitive
	first := r.json(t)
	if first["delivery_count"].(float64) != 1 {
		t.Fatalf("completed goes to the one active webhook subscribed: %s", r.body)
	}
	// Same task, same status: 200, the original answer.
	again := completed(e.teamA, task)
	again["task_output"] = map[string]any{"other": true}
	r = e.do(ingestCaller, "POST", "/internal/v1/task-events", again)
	expect(t, r, http.StatusOK)
	if m := r.json(t); m["event_id"] != first["event_id"] || m["delivery_count"] != first["delivery_count"] {
		t.Fatalf("repeat answered %s, want %v", r.body, first)
	}
	// Other status, or another team: 409.
	expect(t, e.do(ingestCaller, "POST", "/internal/v1/task-events", failed(e.teamA, task)), http.StatusConflict)
	expect(t, e.do(ingestCaller, "POST", "/internal/v1/task-events", completed(e.teamB, task)), http.StatusConflict)

	r = e.do(ingestCaller, "POST", "/internal/v1/task-events", failed(e.teamA, newID()))
	expect(t, r, http.StatusAccepted)
	if r.json(t)["delivery_count"].(float64) != 2 {
		t.Fatalf("failed goes to both active webhooks: %s", r.body)
	}
	// A team hookd has never seen: 202, nothing to deliver.
	r = e.do(ingestCaller, "POST", "/internal/v1/task-events", completed(newID(), newID()))
	expect(t, r, http.StatusAccepted)
	if r.json(t)["delivery_count"].(float64) != 0 {
		t.Fatalf("unknown team: %s", r.body)
	}

	bad := func(mut func(m map[string]any)) map[string]any {
		m := completed(e.teamA, newID())
		mut(m)
		return m
	}
	for name, body := range map[string]any{
		"unknown field":        bad(func(m map[string]any) { m["priority"] = 1 }),
		"bad status":           bad(func(m map[string]any) { m["task_status"] = "running" }),
		"missing team":         bad(func(m map[string]any) { delete(m, "team_id") }),
		"team not uuid":        bad(func(m map[string]any) { m["team_id"] = "abc" }),
		"task not uuid":        bad(func(m map[string]any) { m["task_id"] = 12 }),
		"completed with error": bad(func(m map[string]any) { m["task_error"] = "boom" }),
		"completed no output":  bad(func(m map[string]any) { delete(m, "task_output") }),
		"output not object":    bad(func(m map[string]any) { m["task_output"] = []int{1} }),
		"failed with output":   bad(func(m map[string]any) { m["task_status"] = "failed"; m["task_error"] = "x" }),
		"failed without error": bad(func(m map[string]any) { m["task_status"] = "failed"; m["task_output"] = nil; m["task_error"] = "" }),
		"bad timestamp":        bad(func(m map[string]any) { m["timestamp"] = "yesterday" }),
		"not json":             "{",
	} {
		t.Run(name, func(t *testing.T) {
			expect(t, e.do(ingestCaller, "POST", "/internal/v1/task-events", body), http.StatusBadRequest)
		})
	}
	expect(t, e.do(ingestCaller, "POST", "/internal/v1/task-events", `{}`, "Content-Type", "text/plain"), http.StatusUnsupportedMediaType)
	big := completed(e.teamA, newID())
	big["task_output"] = map[string]any{"blob": strings.Repeat("x", 1<<20)}
	expect(t, e.do(ingestCaller, "POST", "/internal/v1/task-events", big), http.StatusRequestEntityTooLarge)
	// Just under the management limit is fine on ingest (its limit is 1 MiB).
	mid := completed(e.teamA, newID())
	mid["task_output"] = map[string]any{"blob": strings.Repeat("x", 200<<10)}
	expect(t, e.do(ingestCaller, "POST", "/internal/v1/task-events", mid), http.StatusAccepted)
}

func testIngestBatch(t *testing.T, e *env) {
	e.createWebhook("both", "https://example.com/both")
	dup := newID()
	expect(t, e.do(ingestCaller, "POST", "/internal/v1/task-events", completed(e.teamA, dup)), http.StatusAccepted)
	events := []any{
		completed(e.teamA, newID()),    // ok
		map[string]any{"team_id": "x"}, // 400
		completed(e.teamA, dup),        // duplicate
		failed(e.teamA, dup),           // 409
		failed(e.teamA, newID()),       // ok
		"not an object",                // 400
		completed(newID(), newID()),    // ok, 0 deliveries
	}
	r := e.do(ingestCaller, "POST", "/internal/v1/task-events/batch", map[string]any{"events": events})
	expect(t, r, http.StatusOK)
	results := r.json(t)["results"].([]any)
	want := []string{"ok:1:false", "400", "ok:1:true", "409", "ok:1:false", "400", "ok:0:false"}
	if len(results) != len(want) {
		t.Fatalf("results: %s", r.body)
	}
	for i, res := range results {
		m := res.(map[string]any)
		var got string
		if s, ok := m["status"]; ok {
			got = fmt.Sprint(s)
			if m["error_message"] == "" {
				t.Fatalf("result %d has no error_message", i)
			}
		} else {
			got = fmt.Sprintf("ok:%v:%v", m["delivery_count"], m["duplicate"])
		}
		if got != want[i] {
			t.Fatalf("result %d = %s, want %s (%s)", i, got, want[i], r.body)
		}
	}
	tooMany := make([]any, 1001)
	for i := range tooMany {
		tooMany[i] = completed(e.teamA, newID())
	}
	expect(t, e.do(ingestCaller, "POST", "/internal/v1/task-events/batch", map[string]any{"events": tooMany}), http.StatusBadRequest)
	expect(t, e.do(ingestCaller, "POST", "/internal/v1/task-events/batch", map[string]any{"events": events[:1], "x": 1}), http.StatusBadRequest)
	expect(t, e.do(ingestCaller, "POST", "/internal/v1/task-events/batch", map[string]any{}), http.StatusBadRequest)
	r = e.do(ingestCaller, "POST", "/internal/v1/task-events/batch", map[string]any{"events": []any{}})
	expect(t, r, http.StatusOK)
}

func testDeliveryLog(t *testing.T, e *env) {
	admin := e.as(e.admin, e.teamA)
	hook, _ := e.createWebhook("log", "https://example.com/log")
	task := newID()
	expect(t, e.do(ingestCaller, "POST", "/internal/v1/task-events", completed(e.teamA, task)), http.StatusAccepted)
	expect(t, e.do(ingestCaller, "POST", "/internal/v1/task-events", failed(e.teamA, newID())), http.StatusAccepted)

	base := "/api/v1/webhooks/" + hook + "/deliveries"
	r := e.do(e.as(e.viewer, e.teamA), "GET", base, nil)
	expect(t, r, http.StatusOK)
	list := r.json(t)["delivery_list"].([]any)
	if len(list) != 2 {
		t.Fatalf("deliveries: %s", r.body)
	}
	newest := list[0].(map[string]any)
	if newest["event_type"] != "task.failed" || newest["delivery_status"] != "pending" || newest["attempt_count"].(float64) != 0 {
		t.Fatalf("newest delivery: %v", newest)
	}
	r = e.do(admin, "GET", base+"?task_id="+task.String(), nil)
	expect(t, r, http.StatusOK)
	filtered := r.json(t)["delivery_list"].([]any)
	if len(filtered) != 1 || filtered[0].(map[string]any)["task_id"] != task.String() {
		t.Fatalf("task filter: %s", r.body)
	}
	if n := len(e.do(admin, "GET", base+"?delivery_status=succeeded", nil).json(t)["delivery_list"].([]any)); n != 0 {
		t.Fatalf("status filter: %d", n)
	}
	expect(t, e.do(admin, "GET", base+"?delivery_status=done", nil), http.StatusBadRequest)
	expect(t, e.do(admin, "GET", base+"?task_id=nope", nil), http.StatusBadRequest)

	did := filtered[0].(map[string]any)["id"].(string)
	d := e.do(e.as(e.viewer, e.teamA), "GET", base+"/"+did, nil)
	expect(t, d, http.StatusOK)
	dm := d.json(t)
	if !strings.HasPrefix(dm["request_body"].(string), `{"event_type":"task.completed","task_id":"`+task.String()+`"`) ||
		len(dm["attempts"].([]any)) != 0 {
		t.Fatalf("delivery detail: %s", d.body)
	}
	expect(t, e.do(admin, "GET", base+"/"+newID().String(), nil), http.StatusNotFound)
	expect(t, e.do(admin, "GET", base+"/bad", nil), http.StatusBadRequest)

	// Redeliver and test: 202 with a new delivery id; viewers may not.
	expect(t, e.do(e.as(e.viewer, e.teamA), "POST", base+"/"+did+"/redeliver", nil), http.StatusForbidden)
	rd := e.do(admin, "POST", base+"/"+did+"/redeliver", nil)
	expect(t, rd, http.StatusAccepted)
	if rd.json(t)["id"] == did {
		t.Fatal("redeliver must create a new delivery")
	}
	tr := e.do(admin, "POST", "/api/v1/webhooks/"+hook+"/test", nil)
	expect(t, tr, http.StatusAccepted)
	testID := tr.json(t)["id"].(string)
	td := e.do(admin, "GET", base+"/"+testID, nil).json(t)
	if td["event_type"] != "webhook.test" || !strings.Contains(td["request_body"].(string), `"task_status":"completed"`) {
		t.Fatalf("test delivery: %v", td)
	}
	if n := e.do(admin, "GET", base, nil).json(t)["page_meta"].(map[string]any)["total_count"].(float64); n != 4 {
		t.Fatalf("total after redeliver and test: %v", n)
	}

	// Disabled: redeliver and test are 409; pending deliveries are canceled.
	expect(t, e.do(admin, "PUT", "/api/v1/webhooks/"+hook, map[string]any{"webhook_status": "disabled"}), http.StatusOK)
	expect(t, e.do(admin, "POST", base+"/"+did+"/redeliver", nil), http.StatusConflict)
	expect(t, e.do(admin, "POST", "/api/v1/webhooks/"+hook+"/test", nil), http.StatusConflict)
	canceled := e.do(admin, "GET", base+"?delivery_status=canceled", nil).json(t)
	if canceled["page_meta"].(map[string]any)["total_count"].(float64) != 4 {
		t.Fatalf("disable must cancel pending deliveries: %v", canceled)
	}
	// Another team cannot see any of it.
	expect(t, e.do(e.as(e.adminB, e.teamB), "GET", base, nil), http.StatusNotFound)
	expect(t, e.do(e.as(e.adminB, e.teamB), "GET", base+"/"+did, nil), http.StatusNotFound)
	expect(t, e.do(e.as(e.adminB, e.teamB), "POST", base+"/"+did+"/redeliver", nil), http.StatusNotFound)
}

func TestRoutesMatchOpenAPI(t *testing.T) {
	// Compared in both directions: a route without documentation and a
	// documented route the server does not serve both fail.
	spec := specRoutes(t)
	served := map[string]bool{}
	for _, r := range apiRoutes() {
		served[r] = true
		if notInOpenAPI[r] {
			continue
		}
		if !spec[r] {
			t.Errorf("route %s is served but not in api/openapi.yaml", r)
		}
	}
	for r := range spec {
		if !served[r] {
			t.Errorf("route %s is in api/openapi.yaml but not served", r)
		}
	}
}

// With no --ingest-token the ingest API is closed to everyone, an empty
// bearer included: it is never open.
func TestIngestClosedWithoutToken(t *testing.T) {
	srv := httptest.NewServer((&api.Server{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}).Handler())
	defer srv.Close()
	for _, auth := range []string{"", "Bearer ", "Bearer x"} {
		req, _ := http.NewRequest("POST", srv.URL+"/internal/v1/task-events", strings.NewReader(`{}`))
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized || res.Header.Get("WWW-Authenticate") != "Bearer" {
			t.Fatalf("Authorization %q: %d", auth, res.StatusCode)
		}
	}
}
