package api_test

import (
	"testing"

	"github.com/hookd/hookd/internal/api"
	"github.com/hookd/hookd/internal/api/openapitest"
)

func apiRoutes() []string {
	var out []string
	for _, r := range api.Routes() {
		out = append(out, r.Method+" "+r.Path)
	}
	return out
}

func specRoutes(t *testing.T) map[string]bool {
	m := map[string]bool{}
	for _, r := range openapitest.Load(t).Routes() {
		m[r.Method+" "+r.Path] = true
	}
	return m
}

// notInOpenAPI are the served routes that are not part of the JSON API and
// so not in api/openapi.yaml: the web console is HTML and scripts for
// browsers, itself a client of the documented API.
var notInOpenAPI = map[string]bool{"GET /console/": true}

func TestRoutesNotInOpenAPIAreServedAndUndocumented(t *testing.T) {
	spec := specRoutes(t)
	served := map[string]bool{}
	for _, r := range apiRoutes() {
		served[r] = true
	}
	for r := range notInOpenAPI {
		if !served[r] {
			t.Errorf("%s is listed as served outside the API but is not served", r)
		}
		if spec[r] {
			t.Errorf("%s is listed as outside the API but api/openapi.yaml documents it", r)
		}
	}
}
