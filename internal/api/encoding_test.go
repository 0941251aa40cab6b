package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/hookd/hookd/internal/store"
)

// SPEC §1: a body that is not UTF-8 JSON text is 400 naming the field; any
// valid string, NUL included, is stored as given or refused with 400, on
// both stores alike (PostgreSQL text cannot hold NUL: it answered 500), and
// never a 5xx.
func TestTextEncoding(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) store.Store) {
		t.Run("NUL in names", func(t *testing.T) { testNULInNames(t, newEnv(t, newStore(t))) })
		t.Run("invalid UTF-8 on the management API", func(t *testing.T) { testInvalidUTF8Management(t, newEnv(t, newStore(t))) })
		t.Run("ingest", func(t *testing.T) { testIngestEncoding(t, newEnv(t, newStore(t))) })
		t.Run("batch", func(t *testing.T) { testBatchEncoding(t, newEnv(t, newStore(t))) })
	})
}

// expectNamed: the status, and an error message naming the field.
func expectNamed(t *testing.T, r response, status int, want string) {
	t.Helper()
	expect(t, r, status)
	if msg, _ := r.json(t)["error_message"].(string); !strings.Contains(msg, want) {
		t.Fatalf("error_message %q does not contain %q", msg, want)
	}
}

func testNULInNames(t *testing.T, e *env) {
	admin := e.as(e.admin, e.teamA)
	id, _ := e.createWebhook("fine", "https://example.com/hook")
	for _, name := range []string{"\x00", "a\x00b", "trailing\x00"} {
		expectNamed(t, e.do(admin, "POST", "/api/v1/webhooks", map[string]any{"display_name": name,
			"webhook_url": "https://example.com/hook", "webhook_events": []string{"task.failed"}}),
			http.StatusBadRequest, "display_name: must not contain NUL")
		expectNamed(t, e.do(admin, "PUT", "/api/v1/webhooks/"+id, map[string]any{"display_name": name}),
			http.StatusBadRequest, "display_name: must not contain NUL")
		expectNamed(t, e.do(admin, "POST", "/api/v1/credentials", map[string]any{"kind": "integration", "display_name": name}),
			http.StatusBadRequest, "display_name: must not contain NUL")
	}
	// The JSON escape and a URL: the URL is refused as not a valid URL.
	expectNamed(t, e.do(admin, "POST", "/api/v1/webhooks", `{"display_name":"x","webhook_url":"https://example.com/\u0000","webhook_events":["task.failed"]}`),
		http.StatusBadRequest, "webhook_url")
	expectNamed(t, e.do(admin, "PUT", "/api/v1/webhooks/"+id, `{"webhook_url":"https://exa\u0000mple.com/"}`),
		http.StatusBadRequest, "webhook_url")
	expectNamed(t, e.do(admin, "PUT", "/api/v1/webhooks/"+id, `{"webhook_status":"active\u0000"}`),
		http.StatusBadRequest, "webhook_status")
	expectNamed(t, e.do(admin, "PUT", "/api/v1/webhooks/"+id, `{"webhook_events":["task.failed\u0000"]}`),
		http.StatusBadRequest, "webhook_events")

	// Nothing was stored or changed.
	r := e.do(admin, "GET", "/api/v1/webhooks", nil)
	expect(t, r, http.StatusOK)
	if list := r.json(t)["webhook_list"].([]any); len(list) != 1 || list[0].(map[string]any)["display_name"] != "fine" {
		t.Fatalf("webhooks after refusals: %s", r.body)
	}
	r = e.do(admin, "GET", "/api/v1/credentials", nil)
	expect(t, r, http.StatusOK)
	for _, c := range r.json(t)["credentials"].([]any) {
		if strings.ContainsRune(c.(map[string]any)["display_name"].(string), 0) {
			t.Fatalf("a credential with NUL was stored: %s", r.body)
		}
	}
}

func testInvalidUTF8Management(t *testing.T, e *env) {
	admin := e.as(e.admin, e.teamA)
	id, _ := e.createWebhook("fine", "https://example.com/hook")
	for _, c := range []struct {
		method, path, body, field string
	}{
		{"POST", "/api/v1/webhooks", "{\"display_name\":\"\xff\xfe\",\"webhook_url\":\"https://example.com/\",\"webhook_events\":[\"task.failed\"]}", "display_name: is not valid UTF-8"},
		{"POST", "/api/v1/webhooks", "{\"display_name\":\"ok\",\"webhook_url\":\"https://example.com/\xc3\",\"webhook_events\":[\"task.failed\"]}", "webhook_url: is not valid UTF-8"},
		{"PUT", "/api/v1/webhooks/" + id, "{\"display_name\":\"caf\xe9\"}", "display_name: is not valid UTF-8"},
		{"PUT", "/api/v1/webhooks/" + id, "{\"webhook_url\":\"https://ex\xffample.com/\"}", "webhook_url: is not valid UTF-8"},
		{"PUT", "/api/v1/webhooks/" + id, "{\"webhook_events\":[\"task.failed\",\"\xed\xa0\x80\"]}", "webhook_events: is not valid UTF-8"},
		{"PUT", "/api/v1/webhooks/" + id, "{\"webhook_status\":\"\x80\"}", "webhook_status: is not valid UTF-8"},
		{"PUT", "/api/v1/webhooks/" + id, "{\"\xff\":1}", "request body is not valid UTF-8"},
		{"POST", "/api/v1/credentials", "{\"kind\":\"integration\",\"display_name\":\"\xc0\xaf\"}", "display_name: is not valid UTF-8"},
		{"POST", "/api/v1/webhooks/" + id + "/rotate-secret", "{\"\xfe\":0}", "request body is not valid UTF-8"},
	} {
		expectNamed(t, e.do(admin, c.method, c.path, c.body), http.StatusBadRequest, c.field)
	}
	r := e.do(admin, "GET", "/api/v1/webhooks/"+id, nil)
	expect(t, r, http.StatusOK)
	if m := r.json(t); m["display_name"] != "fine" || m["webhook_url"] != "https://example.com/hook" {
		t.Fatalf("webhook changed by refused updates: %s", r.body)
	}
}

// rawEvent is an event body with the given raw JSON text for task_error
// and task_output spliced in.
func rawEvent(team, task, status, output, taskError string) string {
	return `{"team_id":"` + team + `","task_id":"` + task + `","task_status":"` + status +
		`","task_output":` + output + `,"task_error":"` + taskError + `"}`
}

func testIngestEncoding(t *testing.T, e *env) {
	hook, _ := e.createWebhook("both", "https://example.com/both")
	team := e.teamA.String()
	for _, c := range []struct{ body, field string }{
		{rawEvent(team, newID().String(), "failed", "null", "\xff\xfe"), "task_error: is not valid UTF-8"},
		{rawEvent(team, newID().String(), "completed", "{\"a\":[\"\xc3\"]}", ""), "task_output: is not valid UTF-8"},
		{rawEvent(team, newID().String(), "completed", "{\"\xff\":1}", ""), "task_output: is not valid UTF-8"},
		{"{\"team_id\":\"" + team + "\",\"task_id\":\"" + newID().String() + "\",\"task_status\":\"failed\",\"task_error\":\"x\",\"timestamp\":\"2026\xe2\x80\"}", "timestamp: is not valid UTF-8"},
	} {
		expectNamed(t, e.do(ingestCaller, "POST", "/internal/v1/task-events", c.body), http.StatusBadRequest, c.field)
	}

	// NUL is a valid character: the event is accepted on both stores and
	// the delivery body carries it, escaped, exactly as sent.
	task := newID().String()
	r := e.do(ingestCaller, "POST", "/internal/v1/task-events", rawEvent(team, task, "completed", `{"k\u0000":"v\u0000"}`, ""))
	expect(t, r, http.StatusAccepted)
	failedTask := newID().String()
	expect(t, e.do(ingestCaller, "POST", "/internal/v1/task-events", rawEvent(team, failedTask, "failed", "null", `bad\u0000byte`)), http.StatusAccepted)

	bodies := map[string]string{}
	r = e.do(e.as(e.admin, e.teamA), "GET", "/api/v1/webhooks/"+hook+"/deliveries", nil)
	expect(t, r, http.StatusOK)
	for _, d := range r.json(t)["delivery_list"].([]any) {
		d := d.(map[string]any)
		detail := e.do(e.as(e.admin, e.teamA), "GET", "/api/v1/webhooks/"+hook+"/deliveries/"+d["id"].(string), nil)
		expect(t, detail, http.StatusOK)
		bodies[d["task_id"].(string)] = detail.json(t)["request_body"].(string)
	}
	if got := bodies[task]; !strings.Contains(got, `"task_output":{"k\u0000":"v\u0000"}`) {
		t.Fatalf("completed body: %q", got)
	}
	var sent struct {
		TaskError string `json:"task_error"`
	}
	if err := json.Unmarshal([]byte(bodies[failedTask]), &sent); err != nil || sent.TaskError != "bad\x00byte" {
		t.Fatalf("failed body %q: task_error %q (%v)", bodies[failedTask], sent.TaskError, err)
	}
}

func testBatchEncoding(t *testing.T, e *env) {
	e.createWebhook("both", "https://example.com/both")
	team := e.teamA.String()
	body := `{"events":[` +
		rawEvent(team, newID().String(), "failed", "null", "fine") + "," +
		rawEvent(team, newID().String(), "failed", "null", "\xff\xfe") + "," +
		rawEvent(team, newID().String(), "completed", "{\"deep\":{\"x\":[\"\xc3\"]}}", "") + "," +
		rawEvent(team, newID().String(), "failed", "null", `nul\u0000`) + `]}`
	r := e.do(ingestCaller, "POST", "/internal/v1/task-events/batch", body)
	expect(t, r, http.StatusOK)
	results := r.json(t)["results"].([]any)
	if len(results) != 4 {
		t.Fatalf("results: %s", r.body)
	}
	for i, want := range []string{"", "events[1]: task_error: is not valid UTF-8", "events[2]: task_output: is not valid UTF-8", ""} {
		m := results[i].(map[string]any)
		if want == "" {
			if m["event_id"] == nil || m["delivery_count"] != float64(1) {
				t.Fatalf("result %d: %v, want accepted", i, m)
			}
			continue
		}
		if m["status"] != float64(400) || !strings.Contains(m["error_message"].(string), want) {
			t.Fatalf("result %d: %v, want 400 %q", i, m, want)
		}
	}
	// Outside the events, the body as a whole is refused.
	expectNamed(t, e.do(ingestCaller, "POST", "/internal/v1/task-events/batch", "{\"\xff\":[],\"events\":[]}"),
		http.StatusBadRequest, "request body is not valid UTF-8")
	expectNamed(t, e.do(ingestCaller, "POST", "/internal/v1/task-events/batch", "{\"events\":\"\xff\"}"),
		http.StatusBadRequest, "events")
}
