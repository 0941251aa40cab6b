package openapitest

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-cmp/cmp"
)

func TestLoadParsesAndValidatesTheEmbeddedDocument(t *testing.T) {
	s := Load(t)
	if got := s.doc.OpenAPI; got != "3.0.3" {
		t.Errorf("openapi version = %q, want 3.0.3", got)
	}
	if Load(t) != s {
		t.Error("Load parsed the document twice; it should be loaded once per test binary")
	}
}

func TestParseRejectsBrokenDocuments(t *testing.T) {
	cases := map[string]string{
		"not YAML":     "openapi: [3.0.3\n",
		"no info":      "openapi: 3.0.3\npaths: {}\n",
		"dangling ref": "openapi: 3.0.3\ninfo: {title: x, version: '1'}\npaths:\n  /a:\n    get:\n      responses:\n        '200': {$ref: '#/components/responses/Missing'}\n",
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := parse([]byte(doc)); err == nil {
				t.Error("parse accepted a broken document")
			}
		})
	}
}

func TestRoutesListsEveryOperationSorted(t *testing.T) {
	want := []Route{
		{"GET", "/api/v1/credentials"},
		{"POST", "/api/v1/credentials"},
		{"DELETE", "/api/v1/credentials/{credentialId}"},
		{"GET", "/api/v1/webhooks"},
		{"POST", "/api/v1/webhooks"},
		{"DELETE", "/api/v1/webhooks/{webhookId}"},
		{"GET", "/api/v1/webhooks/{webhookId}"},
		{"PUT", "/api/v1/webhooks/{webhookId}"},
		{"GET", "/api/v1/webhooks/{webhookId}/deliveries"},
		{"POST", "/api/v1/webhooks/{webhookId}/deliveries/recover"},
		{"GET", "/api/v1/webhooks/{webhookId}/deliveries/{deliveryId}"},
		{"POST", "/api/v1/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver"},
		{"POST", "/api/v1/webhooks/{webhookId}/rotate-secret"},
		{"POST", "/api/v1/webhooks/{webhookId}/test"},
		{"GET", "/healthz"},
		{"POST", "/internal/v1/task-events"},
		{"POST", "/internal/v1/task-events/batch"},
		{"GET", "/metrics"},
		{"GET", "/openapi.yaml"},
		{"GET", "/readyz"},
	}
	if diff := cmp.Diff(want, Load(t).Routes()); diff != "" {
		t.Errorf("Routes() mismatch (-want +got):\n%s", diff)
	}
}

// operations calls fn for every operation of the document.
func operations(t *testing.T, fn func(t *testing.T, r Route, op *openapi3.Operation, item *openapi3.PathItem)) {
	s := Load(t)
	for _, r := range s.Routes() {
		item := s.doc.Paths.Value(r.Path)
		t.Run(r.Method+" "+r.Path, func(t *testing.T) { fn(t, r, item.GetOperation(r.Method), item) })
	}
}

func TestEveryErrorStatusUsesTheEnvelope(t *testing.T) {
	operations(t, func(t *testing.T, _ Route, op *openapi3.Operation, _ *openapi3.PathItem) {
		for code, resp := range op.Responses.Map() {
			status, err := strconv.Atoi(code)
			if err != nil {
				t.Errorf("response %q: only explicit status codes are documented", code)
				continue
			}
			if status < 400 {
				continue
			}
			media := resp.Value.Content.Get("application/json")
			if media == nil || media.Schema == nil || media.Schema.Ref != "#/components/schemas/Error" {
				t.Errorf("status %d does not use #/components/schemas/Error", status)
			}
			if status == http.StatusUnauthorized {
				h := resp.Value.Headers["WWW-Authenticate"]
				if h == nil || !h.Value.Required {
					t.Error("401 does not require a WWW-Authenticate header")
				}
			}
		}
		if op.Responses.Status(http.StatusInternalServerError) == nil {
			t.Error("500 is not documented")
		}
	})
}

func TestOperationsDocumentTheStatusesTheirCallersCanGet(t *testing.T) {
	operations(t, func(t *testing.T, r Route, op *openapi3.Operation, item *openapi3.PathItem) {
		want := []int{}
		switch {
		case strings.HasPrefix(r.Path, "/api/v1/"):
			want = append(want, 400, 401, 403)
			if strings.Contains(r.Path, "{") {
				want = append(want, 404)
			}
			if r.Method != http.MethodGet {
				want = append(want, 413, 415)
			}
			if !hasParameter(item, op, "header", "X-Team-ID") {
				t.Error("no X-Team-ID header parameter")
			}
			if op.Security != nil {
				t.Error("management operations use the document's bearerAuth security")
			}
		case strings.HasPrefix(r.Path, "/internal/v1/"):
			want = append(want, 400, 401, 413, 415)
			if op.Security == nil || len(*op.Security) != 1 || (*op.Security)[0]["ingestToken"] == nil {
				t.Error("ingest operations must require the ingestToken scheme")
			}
		default:
			if op.Security == nil || len(*op.Security) != 0 {
				t.Error("probes and the document itself need no credential (security: [])")
			}
		}
		for _, status := range want {
			if op.Responses.Status(status) == nil {
				t.Errorf("status %d is not documented", status)
			}
		}
	})
}

func hasParameter(item *openapi3.PathItem, op *openapi3.Operation, in, name string) bool {
	for _, params := range []openapi3.Parameters{item.Parameters, op.Parameters} {
		if params.GetByInAndName(in, name) != nil {
			return true
		}
	}
	return false
}

func TestRequestBodiesRejectUnknownFields(t *testing.T) {
	operations(t, func(t *testing.T, _ Route, op *openapi3.Operation, _ *openapi3.PathItem) {
		if op.RequestBody == nil {
			return
		}
		media := op.RequestBody.Value.Content.Get("application/json")
		if media == nil || media.Schema == nil {
			t.Fatal("request body is not application/json with a schema")
		}
		assertStrictObjects(t, "body", media.Schema.Value)
	})
}

// assertStrictObjects checks that schema and every object schema nested in
// it forbid undeclared properties, except free-form values such as
// task_output (an object without declared properties).
func assertStrictObjects(t *testing.T, at string, schema *openapi3.Schema) {
	t.Helper()
	if schema.Type.Is("object") && len(schema.Properties) > 0 {
		has := schema.AdditionalProperties.Has
		if has == nil || *has || schema.AdditionalProperties.Schema != nil {
			t.Errorf("%s: object schema allows unknown fields; want additionalProperties: false", at)
		}
	}
	for name, prop := range schema.Properties {
		assertStrictObjects(t, at+"."+name, prop.Value)
	}
	if schema.Items != nil {
		assertStrictObjects(t, at+"[]", schema.Items.Value)
	}
}

func TestStatusesAndFieldsOfAnOperation(t *testing.T) {
	s := Load(t)
	r := Route{"GET", "/api/v1/webhooks/{webhookId}/deliveries/{deliveryId}"}
	if diff := cmp.Diff([]string{"200", "400", "401", "403", "404", "500"}, s.Statuses(r)); diff != "" {
		t.Errorf("Statuses (-want +got):\n%s", diff)
	}
	fields := s.Fields(r)
	for _, want := range []string{"request_body", "attempts", "attempt_number", "response_body", "delivery_status"} {
		if !slices.Contains(fields, want) {
			t.Errorf("Fields lacks %q: %v", want, fields)
		}
	}
	if slices.Contains(fields, "error_message") {
		t.Error("Fields lists the error envelope")
	}
	list := s.Fields(Route{"GET", "/api/v1/webhooks"})
	for _, want := range []string{"current_page", "per_page", "webhook_status", "webhook_list", "page_meta", "total_count"} {
		if !slices.Contains(list, want) {
			t.Errorf("list webhooks: Fields lacks %q: %v", want, list)
		}
	}
	if s.Statuses(Route{"GET", "/nowhere"}) != nil || s.Fields(Route{"PATCH", "/healthz"}) != nil {
		t.Error("an unknown operation has statuses or fields")
	}
}
