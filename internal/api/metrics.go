package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Instruments are the API's Prometheus metrics: every request by route
// pattern (never the raw path, so the series are bounded by the routes) and
// status code, with a latency histogram; the ingest API's requests and
// events by outcome.
type Instruments struct {
	requests       *prometheus.CounterVec
	duration       *prometheus.HistogramVec
	ingestRequests *prometheus.CounterVec
	ingestEvents   *prometheus.CounterVec
}

// unmatchedRoute is the route label of requests no route matched (404, 405).
const unmatchedRoute = "unmatched"

// Ingest outcomes (the outcome label of hookd_ingest_requests_total and
// hookd_ingest_events_total).
const (
	outcomeAccepted     = "accepted"     // a new event written (batch request: answered with per-event results)
	outcomeDuplicate    = "duplicate"    // the task was seen before with the same status: the original answer
	outcomeInvalid      = "invalid"      // refused as malformed: 400, 413, 415
	outcomeConflict     = "conflict"     // the task was seen before with another status or team: 409
	outcomeUnauthorized = "unauthorized" // no valid ingest token: 401 (requests only)
	outcomeError        = "error"        // hookd failed (the store): 5xx; the caller should retry
)

// NewInstruments makes the API's metrics and registers them with reg.
func NewInstruments(reg prometheus.Registerer) (*Instruments, error) {
	in := newInstruments()
	for _, c := range []prometheus.Collector{in.requests, in.duration, in.ingestRequests, in.ingestEvents} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return in, nil
}

func newInstruments() *Instruments {
	return &Instruments{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookd_http_requests_total",
			Help: "HTTP API requests by method, route pattern (as registered, e.g. /api/v1/webhooks/{webhookId}; " +
				"\"unmatched\" for 404/405 of unknown paths) and status code.",
		}, []string{"method", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hookd_http_request_duration_seconds",
			Help:    "HTTP API request latency by method and route pattern, from the request's routing to the handler's return.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route"}),
		ingestRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookd_ingest_requests_total",
			Help: "Task-event ingest requests by API (single, batch) and outcome: accepted (single: 202; batch: 200 with " +
				"per-event results), duplicate (200), invalid (400, 413, 415), conflict (409), unauthorized (401), error (5xx).",
		}, []string{"api", "outcome"}),
		ingestEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookd_ingest_events_total",
			Help: "Task events received by outcome: accepted (written, deliveries created), duplicate, invalid, conflict, " +
				"error (the request failed with 5xx). Events of a request refused as a whole (401, a malformed batch) are not counted.",
		}, []string{"outcome"}),
	}
}

// ingestOutcome classifies an ingest answer by its status code.
func ingestOutcome(batch bool, status int) string {
	switch {
	case status == http.StatusAccepted, batch && status == http.StatusOK:
		return outcomeAccepted
	case status == http.StatusOK:
		return outcomeDuplicate
	case status == http.StatusConflict:
		return outcomeConflict
	case status == http.StatusUnauthorized:
		return outcomeUnauthorized
	case status >= 500:
		return outcomeError
	default:
		return outcomeInvalid
	}
}

// events counts n ingested events with outcome.
func (in *Instruments) events(outcome string, n int) {
	if n > 0 {
		in.ingestEvents.WithLabelValues(outcome).Add(float64(n))
	}
}

// instrument counts and times every request of a route (method "": any
// method, labelled by methodLabel). A handler's panic is counted as the 500
// recoverPanics answers.
func (s *Server) instrument(method, route string, ingestAPI, batch bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method := method
		if method == "" {
			method = methodLabel(r.Method)
		}
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			status := sw.status()
			v := recover()
			if v != nil {
				status = http.StatusInternalServerError
			}
			s.Instruments.duration.WithLabelValues(method, route).Observe(time.Since(start).Seconds())
			s.Instruments.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
			if ingestAPI {
				outcome := ingestOutcome(batch, status)
				api := "single"
				if batch {
					api = "batch"
				}
				s.Instruments.ingestRequests.WithLabelValues(api, outcome).Inc()
				if !batch && outcome != outcomeUnauthorized {
					s.Instruments.events(outcome, 1) // a batch counts its events itself
				}
			}
			if v != nil {
				panic(v)
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

// methodLabel keeps the method label bounded: a client may send any token.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush passes flushes through (streaming handlers).
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}
