package openapitest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// ValidateResponse reports (t.Errorf) a response that the document does not
// describe for req's operation: an undocumented status, a missing required
// header (WWW-Authenticate on 401), a wrong Content-Type, or a body that does
// not match the schema (missing, extra or mistyped fields). Only req's method
// and URL path are used; its body is never read.
//
// Unknown paths answered 404 and wrong methods answered 405 have no operation;
// for them the body must be the error envelope, as SPEC §1 requires. HEAD is
// checked as http.ServeMux serves it: the GET operation's status, no body.
func (s *Spec) ValidateResponse(t testing.TB, req *http.Request, status int, header http.Header, body []byte) {
	t.Helper()
	if err := s.checkResponse(req, status, header, body); err != nil {
		t.Errorf("openapitest: response %d to %s %s does not match api/openapi.yaml:\n%v\nbody: %s",
			status, req.Method, req.URL.Path, err, excerpt(body))
	}
}

// excerpt shortens a body for a failure message.
func excerpt(body []byte) string {
	const limit = 2048
	if len(body) > limit {
		return fmt.Sprintf("%s… (%d bytes)", body[:limit], len(body))
	}
	return string(body)
}

func (s *Spec) checkResponse(req *http.Request, status int, header http.Header, body []byte) error {
	if header == nil {
		header = http.Header{}
	}
	method := req.Method
	if method == http.MethodHead {
		method = http.MethodGet
		if len(body) > 0 {
			return fmt.Errorf("a HEAD response has no body, got %d bytes", len(body))
		}
	}
	route, params, pathKnown := s.findRoute(method, req.URL.EscapedPath())
	if route == nil {
		return s.checkUnrouted(req, pathKnown, status, header, body)
	}
	documented := route.Operation.Responses.Status(status)
	if documented == nil {
		return fmt.Errorf("status %d is not documented for %s %s", status, route.Method, route.Path)
	}
	if req.Method == http.MethodHead {
		return nil
	}
	if len(documented.Value.Content) == 0 {
		// kin-openapi ignores the body of a response documented without
		// content (204); a body there breaks the contract all the same.
		if len(body) > 0 {
			return fmt.Errorf("status %d is documented without a body, got %d bytes", status, len(body))
		}
		return nil
	}
	return s.checkDocumented(req, route, params, status, header, body)
}

// checkDocumented runs kin-openapi's response validation: documented
// headers, Content-Type and the body against its schema.
func (s *Spec) checkDocumented(req *http.Request, route *routers.Route, params map[string]string,
	status int, header http.Header, body []byte) error {
	options := &openapi3filter.Options{
		IncludeResponseStatus:   true,
		MultiError:              true,
		SchemaValidationOptions: s.schemaOptions(),
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request:    req,
			PathParams: params,
			Route:      route,
			Options:    options,
		},
		Status:  status,
		Header:  header,
		Options: options,
	}
	input.SetBodyBytes(body)
	return openapi3filter.ValidateResponse(context.Background(), input)
}

// checkUnrouted accepts, for a request the document has no operation for,
// only what ServeMux behind the JSON fallback answers: 405 when the path is
// documented under other methods, 404 otherwise, with the error envelope.
func (s *Spec) checkUnrouted(req *http.Request, pathKnown bool, status int, header http.Header, body []byte) error {
	want := http.StatusNotFound
	if pathKnown {
		want = http.StatusMethodNotAllowed
	}
	if status != want {
		return fmt.Errorf("%s %s has no documented operation: the answer must be %d with the error envelope",
			req.Method, req.URL.Path, want)
	}
	if req.Method == http.MethodHead {
		return nil // no body to check
	}
	return s.checkEnvelope(header, body)
}

// schemaOptions adds the document's uuid and uri formats and keeps failure
// messages to the offending JSON pointer: kin-openapi would otherwise print
// the whole schema and value for every error.
func (s *Spec) schemaOptions() []openapi3.SchemaValidationOption {
	return append(s.doc.GetSchemaValidationOptions(), openapi3.DisableSchemaErrorDetails())
}

// checkEnvelope validates body against components/schemas/Error.
func (s *Spec) checkEnvelope(header http.Header, body []byte) error {
	if mediaType, _, err := mime.ParseMediaType(header.Get("Content-Type")); err != nil || mediaType != "application/json" {
		return fmt.Errorf("error envelope needs Content-Type application/json, got %q", header.Get("Content-Type"))
	}
	var value any
	if err := json.Unmarshal(body, &value); err != nil {
		return fmt.Errorf("error envelope is not JSON: %w", err)
	}
	schema := s.doc.Components.Schemas["Error"]
	if schema == nil || schema.Value == nil {
		return errors.New("the document has no components/schemas/Error")
	}
	opts := append(s.schemaOptions(), openapi3.MultiErrors(), openapi3.VisitAsResponse())
	if err := schema.Value.VisitJSON(value, opts...); err != nil {
		return fmt.Errorf("error envelope does not match components/schemas/Error: %w", err)
	}
	return nil
}
