package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/hookd/hookd/internal/store"
)

func TestProbes(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) store.Store) {
		st := newStore(t)
		e := newEnv(t, st)
		expect(t, e.do(caller{}, "GET", "/healthz", nil), http.StatusOK)
		expect(t, e.do(caller{}, "GET", "/readyz", nil), http.StatusOK)
		spec := e.do(caller{}, "GET", "/openapi.yaml", nil)
		expect(t, spec, http.StatusOK)
		if !strings.HasPrefix(string(spec.body), "openapi: 3.") || !strings.Contains(string(spec.body), "/api/v1/webhooks/{webhookId}") {
			t.Fatalf("/openapi.yaml does not serve the spec: %.80s", spec.body)
		}
		expect(t, e.do(caller{}, "GET", "/metrics", nil), http.StatusNotFound) // this server has no registry
		expect(t, e.do(caller{}, "POST", "/healthz", nil), http.StatusMethodNotAllowed)

		// A store that stops answering makes /readyz 503, /healthz stays 200.
		st.Close()
		expect(t, e.do(caller{}, "GET", "/readyz", nil), http.StatusServiceUnavailable)
		expect(t, e.do(caller{}, "GET", "/healthz", nil), http.StatusOK)
		// And an API call that needs the store is a 500 without detail.
		r := e.do(e.key(e.skKey), "GET", "/api/v1/webhooks", nil)
		expect(t, r, http.StatusInternalServerError)
		if string(r.body) != `{"error_message":"internal error","error_code":"internal"}`+"\n" {
			t.Fatalf("500 body leaks detail: %s", r.body)
		}
	})
}
