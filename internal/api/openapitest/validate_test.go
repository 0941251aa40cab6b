package openapitest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	apispec "github.com/hookd/hookd/api"
)

const (
	webhookPath  = "/api/v1/webhooks/019abc12-3456-7890-abcd-ef1234567890"
	deliveryPath = webhookPath + "/deliveries/019abc12-3456-7890-abcd-ef1234567891"
	id           = "019abc12-3456-7890-abcd-ef1234567892"
	secret       = "whsec_0123456789abcdefghijABCDEFGHIJxyz"
	jsonType     = "application/json"
)

// webhookItem is a list entry: every field the schema requires, no secret.
const webhookItem = `{"id":"` + id + `","display_name":"Render results",` +
	`"webhook_url":"https://example.com/hook","webhook_events":["task.completed","task.failed"],` +
	`"webhook_status":"active","created_at":"2026-02-16T09:00:00Z","last_delivered_at":null}`

const pageMeta = `"page_meta":{"current_page":1,"per_page":20,"total_count":1}`

const webhookList = `{"webhook_list":[` + webhookItem + `],` + pageMeta + `}`

const deliveryFields = `"id":"` + id + `","event_type":"task.failed",` +
	`"task_id":"3f1c1a52-95a4-4b1e-9a53-0d6f4f3b2a10","delivery_status":"failed","attempt_count":2,` +
	`"next_attempt_at":null,"last_status_code":null,"last_error":"dial tcp: connection refused",` +
	`"created_at":"2026-02-16T09:00:00Z","completed_at":"2026-02-16T09:02:35Z"`

type response struct {
	method, path string
	status       int
	header       http.Header
	body         string
}

func jsonHeader() http.Header { return http.Header{"Content-Type": {jsonType}} }

func (r response) check(s *Spec) error {
	req := httptest.NewRequest(r.method, r.path, nil)
	return s.checkResponse(req, r.status, r.header, []byte(r.body))
}

func TestValidateResponseAcceptsConformingResponses(t *testing.T) {
	s := Load(t)
	unauthorized := jsonHeader()
	unauthorized.Set("WWW-Authenticate", "Bearer")
	cases := map[string]response{
		"webhook list": {"GET", "/api/v1/webhooks?per_page=20", 200, jsonHeader(), webhookList},
		"webhook list with charset": {"GET", "/api/v1/webhooks", 200,
			http.Header{"Content-Type": {"application/json; charset=utf-8"}}, webhookList},
		"empty webhook list": {"GET", "/api/v1/webhooks", 200, jsonHeader(),
			`{"webhook_list":[],"page_meta":{"current_page":3,"per_page":100,"total_count":0}}`},
		"webhook detail": {"GET", webhookPath, 200, jsonHeader(),
			strings.Replace(webhookItem, `"last_delivered_at":null`,
				`"last_delivered_at":"2026-02-16T09:00:01Z","webhook_secret":"`+secret+`"`, 1)},
		"webhook created":   {"POST", "/api/v1/webhooks", 201, jsonHeader(), `{"id":"` + id + `","webhook_secret":"` + secret + `"}`},
		"webhook updated":   {"PUT", webhookPath, 200, jsonHeader(), `{"id":"` + id + `"}`},
		"webhook deleted":   {"DELETE", webhookPath, 204, http.Header{}, ""},
		"secret rotated":    {"POST", webhookPath + "/rotate-secret", 200, jsonHeader(), `{"webhook_secret":"` + secret + `"}`},
		"unauthorized":      {"GET", "/api/v1/webhooks", 401, unauthorized, `{"error_message":"missing bearer token","error_code":"unauthorized"}`},
		"bad request":       {"GET", "/api/v1/webhooks?per_page=0", 400, jsonHeader(), `{"error_message":"per_page: must be between 1 and 100"}`},
		"disabled redelive": {"POST", deliveryPath + "/redeliver", 409, jsonHeader(), `{"error_message":"webhook disabled"}`},
		"delivery list": {"GET", webhookPath + "/deliveries?delivery_status=failed", 200, jsonHeader(),
			`{"delivery_list":[{` + deliveryFields + `}],` + pageMeta + `}`},
		"delivery detail": {"GET", deliveryPath, 200, jsonHeader(),
			`{` + deliveryFields + `,"request_body":"{\"event_type\":\"task.failed\"}","attempts":[` +
				`{"attempt_number":1,"started_at":"2026-02-16T09:00:00Z","duration_ms":12,"status_code":500,"error":null,"response_body":"oops"},` +
				`{"attempt_number":2,"started_at":"2026-02-16T09:00:05Z","duration_ms":3,"status_code":null,"error":"connection refused","response_body":""}]}`},
		"redelivered": {"POST", deliveryPath + "/redeliver", 202, jsonHeader(), `{"id":"` + id + `"}`},
		"test sent":   {"POST", webhookPath + "/test", 202, jsonHeader(), `{"id":"` + id + `"}`},
		"credential created": {"POST", "/api/v1/credentials", 201, jsonHeader(),
			`{"id":"` + id + `","kind":"integration","key_prefix":"sk-AbCdEf123","raw_key":"sk-AbCdEf1234567890AbCdEf1234567890AbCd"}`},
		"credential list": {"GET", "/api/v1/credentials?kind=device", 200, jsonHeader(),
			`{"credentials":[{"id":"` + id + `","kind":"integration","display_name":"CI","key_prefix":"sk-AbCdEf123",` +
				`"user_id":null,"key_status":"active","created_at":"2026-02-16T09:00:00Z","last_used_at":null,"expires_at":null},` +
				`{"id":"` + id + `","kind":"device","display_name":"laptop","key_prefix":"dk-AbCdEf123",` +
				`"user_id":"3f1c1a52-95a4-4b1e-9a53-0d6f4f3b2a10","key_status":"revoked","created_at":"2026-02-16T09:00:00Z",` +
				`"last_used_at":"2026-02-17T09:00:00Z","expires_at":"2026-05-16T09:00:00Z"}],` + pageMeta + `}`},
		"credential revoked": {"DELETE", "/api/v1/credentials/" + id, 204, nil, ""},
		"event accepted":     {"POST", "/internal/v1/task-events", 202, jsonHeader(), `{"event_id":"` + id + `","delivery_count":2}`},
		"event repeated":     {"POST", "/internal/v1/task-events", 200, jsonHeader(), `{"event_id":"` + id + `","delivery_count":0}`},
		"batch results": {"POST", "/internal/v1/task-events/batch", 200, jsonHeader(),
			`{"results":[{"event_id":"` + id + `","delivery_count":1,"duplicate":false},{"status":409,"error_message":"task seen as completed"}]}`},
		"healthz":   {"GET", "/healthz", 200, jsonHeader(), `{"status":"ok"}`},
		"not ready": {"GET", "/readyz", 503, jsonHeader(), `{"error_message":"the store is not reachable","error_code":"store_unavailable"}`},
		"metrics": {"GET", "/metrics", 200, http.Header{"Content-Type": {"text/plain; version=0.0.4; charset=utf-8"}},
			"# HELP up 1\nup 1\n"},
		"openapi document":               {"GET", "/openapi.yaml", 200, http.Header{"Content-Type": {"application/yaml"}}, string(apispec.OpenAPI)},
		"unknown path":                   {"GET", "/api/v1/nope", 404, jsonHeader(), `{"error_message":"no such route"}`},
		"wrong method":                   {"PATCH", webhookPath, 405, jsonHeader(), `{"error_message":"method not allowed","error_code":"method_not_allowed"}`},
		"wrong method on a literal path": {"DELETE", "/api/v1/webhooks", 405, jsonHeader(), `{"error_message":"method not allowed"}`},
		"trailing slash is another path": {"GET", "/api/v1/webhooks/", 404, jsonHeader(), `{"error_message":"no such route"}`},
		"empty path parameter":           {"GET", "/api/v1/webhooks//deliveries", 404, jsonHeader(), `{"error_message":"no such route"}`},
		"escaped path":                   {"POST", webhookPath + "/rotate%2Dsecret", 200, jsonHeader(), `{"webhook_secret":"` + secret + `"}`},
		"HEAD of a GET route":            {"HEAD", "/api/v1/webhooks", 200, jsonHeader(), ""},
		"HEAD of an unknown path":        {"HEAD", "/nope", 404, jsonHeader(), ""},
		"HEAD of a POST-only path":       {"HEAD", "/internal/v1/task-events", 405, jsonHeader(), ""},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel() // the Spec is shared by parallel tests in real use too
			if err := c.check(s); err != nil {
				t.Errorf("conforming response rejected: %v", err)
			}
		})
	}
}

func TestValidateResponseRejectsResponsesOutsideTheContract(t *testing.T) {
	s := Load(t)
	cases := map[string]response{
		"missing field": {"GET", "/api/v1/webhooks", 200, jsonHeader(),
			strings.Replace(webhookList, `,"created_at":"2026-02-16T09:00:00Z"`, "", 1)},
		"extra field in a strict object": {"GET", "/api/v1/webhooks", 200, jsonHeader(),
			strings.Replace(webhookList, `"webhook_status":"active"`, `"webhook_status":"active","team_id":"`+id+`"`, 1)},
		"secret leaked into the list": {"GET", "/api/v1/webhooks", 200, jsonHeader(),
			strings.Replace(webhookList, `"webhook_status":"active"`, `"webhook_status":"active","webhook_secret":"`+secret+`"`, 1)},
		"undocumented status":          {"GET", "/api/v1/webhooks", 418, jsonHeader(), `{"error_message":"teapot"}`},
		"documented elsewhere only":    {"GET", "/api/v1/webhooks", 201, jsonHeader(), webhookList},
		"401 without WWW-Authenticate": {"GET", "/api/v1/webhooks", 401, jsonHeader(), `{"error_message":"no token"}`},
		"wrong content type":           {"GET", "/api/v1/webhooks", 200, http.Header{"Content-Type": {"text/plain"}}, webhookList},
		"no content type":              {"GET", "/api/v1/webhooks", 200, nil, webhookList},
		"not JSON":                     {"GET", "/api/v1/webhooks", 200, jsonHeader(), `{"webhook_list":`},
		"enum violated": {"GET", "/api/v1/webhooks", 200, jsonHeader(),
			strings.Replace(webhookList, `"active"`, `"paused"`, 1)},
		"id not a UUID": {"PUT", webhookPath, 200, jsonHeader(), `{"id":"42"}`},
		"task_id not a UUID": {"GET", webhookPath + "/deliveries", 200, jsonHeader(),
			`{"delivery_list":[{` + strings.Replace(deliveryFields, "3f1c1a52-95a4-4b1e-9a53-0d6f4f3b2a10", "task-42", 1) + `}],` + pageMeta + `}`},
		"task_id upper-case": {"GET", webhookPath + "/deliveries", 200, jsonHeader(),
			`{"delivery_list":[{` + strings.Replace(deliveryFields, "3f1c1a52-95a4-4b1e-9a53-0d6f4f3b2a10", "3F1C1A52-95A4-4B1E-9A53-0D6F4F3B2A10", 1) + `}],` + pageMeta + `}`},
		"id not UUIDv7": {"PUT", webhookPath, 200, jsonHeader(), `{"id":"3f1c1a52-95a4-4b1e-9a53-0d6f4f3b2a10"}`},
		"timestamp not UTC": {"GET", "/api/v1/webhooks", 200, jsonHeader(),
			strings.Replace(webhookList, `2026-02-16T09:00:00Z`, `2026-02-16T10:00:00+01:00`, 1)},
		"null where not nullable": {"GET", "/api/v1/webhooks", 200, jsonHeader(),
			strings.Replace(webhookList, `"display_name":"Render results"`, `"display_name":null`, 1)},
		"url not absolute": {"GET", "/api/v1/webhooks", 200, jsonHeader(),
			strings.Replace(webhookList, `https://example.com/hook`, `https://`, 1)},
		"per_page out of range": {"GET", "/api/v1/webhooks", 200, jsonHeader(),
			strings.Replace(webhookList, `"per_page":20`, `"per_page":101`, 1)},
		"secret in wrong form": {"POST", webhookPath + "/rotate-secret", 200, jsonHeader(), `{"webhook_secret":"hunter2"}`},
		"body on 204":          {"DELETE", webhookPath, 204, jsonHeader(), `{"id":"` + id + `"}`},
		"error with detail": {"GET", webhookPath, 500, jsonHeader(),
			`{"error_message":"internal error","stack":"goroutine 1"}`},
		"error without message": {"GET", webhookPath, 404, jsonHeader(), `{"error_code":"not_found"}`},
		"batch item mixes shapes": {"POST", "/internal/v1/task-events/batch", 200, jsonHeader(),
			`{"results":[{"event_id":"` + id + `","delivery_count":1,"duplicate":false,"status":400}]}`},
		"batch item status not in the contract": {"POST", "/internal/v1/task-events/batch", 200, jsonHeader(),
			`{"results":[{"status":500,"error_message":"boom"}]}`},
		"single event answer with duplicate flag": {"POST", "/internal/v1/task-events", 202, jsonHeader(),
			`{"event_id":"` + id + `","delivery_count":1,"duplicate":false}`},
		"unknown path in plain text": {"GET", "/api/v1/nope", 404, http.Header{"Content-Type": {"text/plain"}}, "404 page not found\n"},
		"unknown path answered 200":  {"GET", "/api/v1/nope", 200, jsonHeader(), `{}`},
		"wrong method not 405":       {"PATCH", webhookPath, 404, jsonHeader(), `{"error_message":"nope"}`},
		"405 envelope with extras":   {"PATCH", webhookPath, 405, jsonHeader(), `{"error_message":"nope","allow":"GET"}`},
		"empty path parameter routed": {"GET", "/api/v1/webhooks//deliveries", 200, jsonHeader(),
			`{"delivery_list":[],"page_meta":{"current_page":1,"per_page":20,"total_count":0}}`},
		"trailing slash routed":                 {"GET", "/api/v1/webhooks/", 200, jsonHeader(), webhookList},
		"HEAD with a body":                      {"HEAD", "/api/v1/webhooks", 200, jsonHeader(), webhookList},
		"HEAD undocumented status":              {"HEAD", "/api/v1/webhooks", 418, jsonHeader(), ""},
		"HEAD of a POST-only path answered 404": {"HEAD", "/internal/v1/task-events", 404, jsonHeader(), ""},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if err := c.check(s); err == nil {
				t.Error("response outside the contract accepted")
			}
		})
	}
}

// errorRecorder is a testing.TB that records Errorf calls instead of failing.
type errorRecorder struct {
	testing.TB
	errors []string
}

func (r *errorRecorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func TestValidateResponseReportsThroughTheTest(t *testing.T) {
	s := Load(t)
	req := httptest.NewRequest("GET", "/api/v1/webhooks", nil)

	good := &errorRecorder{TB: t}
	s.ValidateResponse(good, req, 200, jsonHeader(), []byte(webhookList))
	if len(good.errors) != 0 {
		t.Errorf("a conforming response was reported: %v", good.errors)
	}

	bad := &errorRecorder{TB: t}
	s.ValidateResponse(bad, req, 418, jsonHeader(), []byte(`{"error_message":"teapot"}`))
	if len(bad.errors) != 1 {
		t.Fatalf("an undocumented status gave %d reports, want 1", len(bad.errors))
	}
	for _, want := range []string{"418", "GET /api/v1/webhooks", "api/openapi.yaml"} {
		if !strings.Contains(bad.errors[0], want) {
			t.Errorf("report %q does not mention %q", bad.errors[0], want)
		}
	}
}

func TestValidateResponseRoutesAbsoluteURLs(t *testing.T) {
	s := Load(t)
	req, err := http.NewRequest("GET", "http://127.0.0.1:8080"+webhookPath+"/deliveries?task_id="+id, strings.NewReader("ignored"))
	if err != nil {
		t.Fatal(err)
	}
	body := `{"delivery_list":[],"page_meta":{"current_page":1,"per_page":20,"total_count":0}}`
	if err := s.checkResponse(req, 200, jsonHeader(), []byte(body)); err != nil {
		t.Errorf("request with an absolute URL: %v", err)
	}
	if err := s.checkResponse(req, 200, jsonHeader(), []byte(webhookList)); err == nil {
		t.Error("a webhook list was accepted as a delivery list: the route was not matched")
	}
}
