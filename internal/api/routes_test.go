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
