package api_test

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookd/hookd/internal/store"
	"github.com/hookd/hookd/internal/store/sqlite"
)

// series scrapes reg into name{label="value",…} → value; a histogram gives
// its sample count.
func series(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+`="`+l.GetValue()+`"`)
			}
			name := mf.GetName() + "{" + strings.Join(labels, ",") + "}"
			switch {
			case m.GetCounter() != nil:
				out[name] = m.GetCounter().GetValue()
			case m.GetHistogram() != nil:
				out[name] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

func wantSeries(t *testing.T, got map[string]float64, want map[string]float64) {
	t.Helper()
	for name, v := range want {
		if got[name] != v {
			t.Errorf("%s = %v, want %v", name, got[name], v)
		}
	}
}

// Every ingest answer is counted by outcome, per request and per event.
func TestIngestIsCountedByOutcome(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) store.Store) {
		st := newStore(t)
		e := newEnv(t, st)
		task := newID()
		expect(t, e.do(ingestCaller, "POST", "/internal/v1/task-events", completed(e.teamA, task)), http.StatusAccepted)
		expect(t, e.do(ingestCaller, "POST", "/internal/v1/task-events", completed(e.teamA, task)), http.StatusOK)
		expect(t, e.do(ingestCaller, "POST", "/internal/v1/task-events", failed(e.teamA, task)), http.StatusConflict)
		expect(t, e.do(ingestCaller, "POST", "/internal/v1/task-events", `{"team_id":`), http.StatusBadRequest)
		expect(t, e.do(caller{bearer: "wrong"}, "POST", "/internal/v1/task-events", completed(e.teamA, newID())), http.StatusUnauthorized)

		bad := completed(e.teamA, newID())
		bad["task_status"] = "lost"
		r := e.do(ingestCaller, "POST", "/internal/v1/task-events/batch", map[string]any{
			"events": []any{completed(e.teamA, newID()), bad, completed(e.teamA, task), failed(e.teamA, task)}})
		expect(t, r, http.StatusOK)
		expect(t, e.do(ingestCaller, "POST", "/internal/v1/task-events/batch", `{"events": 3}`), http.StatusBadRequest)

		// The store failing: 500, counted as an error of hookd's.
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		expect(t, e.do(ingestCaller, "POST", "/internal/v1/task-events", completed(e.teamA, newID())), http.StatusInternalServerError)
		expect(t, e.do(ingestCaller, "POST", "/internal/v1/task-events/batch", map[string]any{
			"events": []any{completed(e.teamA, newID()), bad}}), http.StatusInternalServerError)

		got := series(t, e.reg)
		wantSeries(t, got, map[string]float64{
			`hookd_ingest_requests_total{api="single",outcome="accepted"}`:     1,
			`hookd_ingest_requests_total{api="single",outcome="duplicate"}`:    1,
			`hookd_ingest_requests_total{api="single",outcome="conflict"}`:     1,
			`hookd_ingest_requests_total{api="single",outcome="invalid"}`:      1,
			`hookd_ingest_requests_total{api="single",outcome="unauthorized"}`: 1,
			`hookd_ingest_requests_total{api="single",outcome="error"}`:        1,
			`hookd_ingest_requests_total{api="batch",outcome="accepted"}`:      1,
			`hookd_ingest_requests_total{api="batch",outcome="invalid"}`:       1,
			`hookd_ingest_requests_total{api="batch",outcome="error"}`:         1,
			// single: 1 each; batch: new, invalid, duplicate, conflict; failing batch: error, invalid
			`hookd_ingest_events_total{outcome="accepted"}`:  2,
			`hookd_ingest_events_total{outcome="duplicate"}`: 2,
			`hookd_ingest_events_total{outcome="conflict"}`:  2,
			`hookd_ingest_events_total{outcome="invalid"}`:   3,
			`hookd_ingest_events_total{outcome="error"}`:     2,
		})
		if v, ok := got[`hookd_ingest_events_total{outcome="unauthorized"}`]; ok {
			t.Errorf("events of a refused request were counted: %v", v)
		}
	})
}

// Requests are labelled by the route pattern, never the raw path, and by
// a bounded method.
func TestRequestsAreCountedByRoutePattern(t *testing.T) {
	st, err := sqlite.Open(t.Context(), sqlite.Options{Path: filepath.Join(t.TempDir(), "hookd.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := newEnv(t, st)
	hook := newID().String()
	expect(t, e.do(caller{}, "GET", "/api/v1/webhooks/"+hook, nil), http.StatusUnauthorized)
	expect(t, e.do(e.as(e.admin, e.teamA), "GET", "/api/v1/webhooks/"+hook, nil), http.StatusNotFound)
	expect(t, e.do(e.as(e.admin, e.teamA), "GET", "/api/v1/webhooks", nil), http.StatusOK)
	expect(t, e.do(caller{}, "GET", "/no/such/"+hook, nil), http.StatusNotFound)
	expect(t, e.do(caller{}, "BREW", "/api/v1/webhooks", nil), http.StatusMethodNotAllowed)

	got := series(t, e.reg)
	wantSeries(t, got, map[string]float64{
		`hookd_http_requests_total{code="401",method="GET",route="/api/v1/webhooks/{webhookId}"}`: 1,
		`hookd_http_requests_total{code="404",method="GET",route="/api/v1/webhooks/{webhookId}"}`: 1,
		`hookd_http_requests_total{code="200",method="GET",route="/api/v1/webhooks"}`:             1,
		`hookd_http_requests_total{code="404",method="GET",route="unmatched"}`:                    1,
		`hookd_http_requests_total{code="405",method="other",route="unmatched"}`:                  1,
		`hookd_http_request_duration_seconds{method="GET",route="/api/v1/webhooks/{webhookId}"}`:  2,
	})
	for name := range got {
		if strings.Contains(name, hook) {
			t.Fatalf("a raw path is a label value: %s", name)
		}
	}
}
