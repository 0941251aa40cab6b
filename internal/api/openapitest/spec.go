// Package openapitest holds api/openapi.yaml to account in tests.
//
// The contract clients read (GET /openapi.yaml) is the document embedded in
// package apispec. Load parses and validates it once per test binary; Routes
// lists its operations so a router test can check that the server registers
// exactly those; ValidateResponse checks a real response (status, headers,
// JSON body) against the operation the request routes to. Response schemas
// are strict (additionalProperties: false), so a leaked field such as a
// secret in a list fails a test instead of reaching a client. Requests are
// matched to operations with http.ServeMux's rules (match.go), so a 404 or
// 405 from the server is checked as exactly that, in the error envelope.
package openapitest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	apispec "github.com/hookd/hookd/api"
)

// Spec is the loaded, validated API description. It is read-only after Load
// and safe for parallel tests.
type Spec struct {
	doc       *openapi3.T
	templates []pathTemplate // the documented paths, for matching requests
}

// Route is one operation of the document: an HTTP method and a path template
// whose parameters use the document's names, e.g. {"GET", "/api/v1/webhooks/{webhookId}"}.
type Route struct{ Method, Path string }

// loadOnce parses the embedded document the first time any test asks for it.
var loadOnce = sync.OnceValues(func() (*Spec, error) { return parse(apispec.OpenAPI) })

// Load returns the API description, stopping the test if it does not parse or
// is not a valid OpenAPI document.
func Load(t testing.TB) *Spec {
	t.Helper()
	s, err := loadOnce()
	if err != nil {
		t.Fatalf("openapitest: api/openapi.yaml: %v", err)
	}
	return s
}

// parse loads and validates an OpenAPI document and prepares its paths for matching.
func parse(data []byte) (*Spec, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("invalid OpenAPI document: %w", err)
	}
	// kin-openapi checks only date-time and a few numeric formats by itself;
	// these make "uuid" and "uri" in response schemas mean something too.
	doc.SetStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(canonicalUUID.String()))
	doc.SetStringFormatValidator("uri", openapi3.NewCallbackValidator(validateAbsoluteURI))
	s := &Spec{doc: doc, templates: compileTemplates(doc)}
	return s, nil
}

// canonicalUUID is the form uuid.UUID.String produces: lower-case, hyphenated.
var canonicalUUID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func validateAbsoluteURI(value string) error {
	u, err := url.Parse(value)
	if err != nil {
		return err
	}
	if !u.IsAbs() || u.Host == "" {
		return errors.New("not an absolute URI with a host")
	}
	return nil
}

// Routes lists every operation of the document, sorted by path then method.
func (s *Spec) Routes() []Route {
	var out []Route
	for path, item := range s.doc.Paths.Map() {
		for method := range item.Operations() {
			out = append(out, Route{Method: method, Path: path})
		}
	}
	slices.SortFunc(out, func(a, b Route) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Method, b.Method)
	})
	return out
}
