// Package api is hookd's HTTP surface: the management API (/api/v1, JWT or
// key callers), the task-event ingest (/internal/v1, its own token) and the
// unauthenticated probes, plus the web console's page and assets under
// /console/ (a browser client of the management API, not part of it).
// Handlers are thin: parse, authorize, call the store or the ingest service,
// write. Every error leaves through writeError, so
// every status code, 404 and 405 included, uses the SPEC's JSON envelope.
package api

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/hookd/hookd/internal/auth"
	"github.com/hookd/hookd/internal/console"
	"github.com/hookd/hookd/internal/ingest"
	"github.com/hookd/hookd/internal/netguard"
	"github.com/hookd/hookd/internal/secretbox"
	"github.com/hookd/hookd/internal/store"
)

// Waker is told when new deliveries may be due (the delivery engine).
type Waker interface{ Wake() }

// RecoveryWaker is told when a recover call was accepted (the delivery
// engine creates the redeliveries).
type RecoveryWaker interface{ WakeRecoveries() }

// Server holds what the handlers need.
type Server struct {
	Store       store.Store
	Auth        *auth.Authenticator
	Box         *secretbox.Box
	Policy      *netguard.Policy
	Ingest      *ingest.Service
	IngestToken string
	Waker       Waker
	Recoveries  RecoveryWaker // optional
	// Retention is how long deliveries are kept (--retention): a recover
	// window may not start before it. Zero or less: no limit.
	Retention time.Duration
	Metrics   http.Handler // GET /metrics; nil: 404
	// Instruments count requests (NewInstruments registers them); nil:
	// counted but not exported.
	Instruments *Instruments
	UserAgent   string // the deliveries' User-Agent, shown by the console
	Logger      *slog.Logger
	Now         func() time.Time

	console *console.Pages
}

// Route is one method and path pattern of the API.
type Route struct{ Method, Path string }

type access int

const (
	public access = iota
	management
	ingestAPI
	browser // the console: public files; the page itself signs in to the API
)

type route struct {
	method, path string
	access       access
	handle       func(w http.ResponseWriter, r *http.Request, p auth.Principal) error
}

func (s *Server) routes() []route {
	return []route{
		{"GET", "/healthz", public, s.healthz},
		{"GET", "/readyz", public, s.readyz},
		{"GET", "/metrics", public, s.metrics},
		{"GET", "/openapi.yaml", public, s.openapi},

		{"POST", "/api/v1/webhooks", management, s.createWebhook},
		{"GET", "/api/v1/webhooks", management, s.listWebhooks},
		{"GET", "/api/v1/webhooks/{webhookId}", management, s.getWebhook},
		{"PUT", "/api/v1/webhooks/{webhookId}", management, s.updateWebhook},
		{"DELETE", "/api/v1/webhooks/{webhookId}", management, s.deleteWebhook},
		{"POST", "/api/v1/webhooks/{webhookId}/rotate-secret", management, s.rotateSecret},
		{"GET", "/api/v1/webhooks/{webhookId}/deliveries", management, s.listDeliveries},
		{"GET", "/api/v1/webhooks/{webhookId}/deliveries/{deliveryId}", management, s.getDelivery},
		{"POST", "/api/v1/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver", management, s.redeliver},
		{"POST", "/api/v1/webhooks/{webhookId}/deliveries/recover", management, s.recoverDeliveries},
		{"POST", "/api/v1/webhooks/{webhookId}/test", management, s.testWebhook},

		{"POST", "/api/v1/credentials", management, s.createCredential},
		{"GET", "/api/v1/credentials", management, s.listCredentials},
		{"DELETE", "/api/v1/credentials/{credentialId}", management, s.revokeCredential},

		{"POST", "/internal/v1/task-events", ingestAPI, s.ingestOne},
		{"POST", "/internal/v1/task-events/batch", ingestAPI, s.ingestBatch},

		{"GET", console.Prefix, browser, s.serveConsole},
	}
}

// Routes lists every route the server registers (for the OpenAPI drift test,
// which expects all of them in api/openapi.yaml except the console's).
func Routes() []Route {
	var out []Route
	for _, rt := range (&Server{}).routes() {
		out = append(out, Route{Method: rt.method, Path: rt.path})
	}
	return out
}

// Handler builds the HTTP handler.
func (s *Server) Handler() http.Handler {
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Instruments == nil {
		s.Instruments = newInstruments()
	}
	s.console = console.MustNew(console.Config{UserAgent: s.UserAgent})
	mux := http.NewServeMux()
	for _, rt := range s.routes() {
		batch := rt.path == "/internal/v1/task-events/batch"
		mux.Handle(rt.method+" "+rt.path, s.instrument(rt.method, rt.path, rt.access == ingestAPI, batch, s.wrap(rt)))
	}
	return s.recoverPanics(s.jsonFallback(mux))
}

func (s *Server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p auth.Principal
		var err error
		switch rt.access {
		case management:
			p, err = s.Auth.Authenticate(r.Context(), r.Header.Get("Authorization"), r.Header.Get("X-Team-ID"))
		case ingestAPI:
			err = s.checkIngestToken(r)
		}
		if err == nil {
			err = rt.handle(w, r, p)
		}
		if err != nil {
			writeError(w, r, s.Logger, err)
		}
	})
}

// jsonFallback answers unknown routes (404) and wrong methods (405, with
// Allow) in the JSON envelope instead of ServeMux's plain text.
func (s *Server) jsonFallback(mux *http.ServeMux) http.Handler {
	unmatched := s.instrument("", unmatchedRoute, false, false, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.unmatched(mux, w, r)
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		unmatched.ServeHTTP(w, r)
	})
}

// unmatched answers a request no route matches.
func (s *Server) unmatched(mux *http.ServeMux, w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{header: http.Header{}}
	mux.ServeHTTP(rec, r)
	switch rec.status {
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", rec.header.Get("Allow"))
		writeError(w, r, s.Logger, &Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed",
			Message: "method " + r.Method + " is not allowed on this path"})
	case http.StatusNotFound, 0:
		writeError(w, r, s.Logger, &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such route"})
	default: // redirects of path cleaning and the like
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.status)
	}
}

type statusRecorder struct {
	header http.Header
	status int
}

func (r *statusRecorder) Header() http.Header         { return r.header }
func (r *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *statusRecorder) WriteHeader(code int)        { r.status = code }

func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.Logger.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", v)
				writeError(w, r, s.Logger, &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error"})
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// require answers 403 unless the caller may perform the action.
func require(p auth.Principal, a auth.Action) error {
	if !auth.Can(p, a) {
		return errForbidden
	}
	return nil
}

// webhookRequest parses the path's webhook id (400 when malformed), then
// checks the caller may perform the action (403).
func webhookRequest(r *http.Request, p auth.Principal, a auth.Action) (uuid.UUID, error) {
	id, err := pathID(r, "webhookId")
	if err != nil {
		return uuid.Nil, err
	}
	return id, require(p, a)
}
