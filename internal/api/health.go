package api

import (
	"context"
	"net/http"
	"time"

	apispec "github.com/hookd/hookd/api"
	"github.com/hookd/hookd/internal/auth"
)

type statusBody struct {
	Status string `json:"status"`
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request, _ auth.Principal) error {
	writeJSON(w, http.StatusOK, statusBody{Status: "ok"})
	return nil
}

// readyz answers 200 only when the store answers within two seconds.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.Store.Ping(ctx); err != nil {
		s.Logger.Warn("readiness check failed", "err", err)
		return &Error{Status: http.StatusServiceUnavailable, Code: "store_unavailable", Message: "the store is not reachable"}
	}
	writeJSON(w, http.StatusOK, statusBody{Status: "ok"})
	return nil
}

func (s *Server) metrics(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	if s.Metrics == nil {
		return notFound("metrics")
	}
	s.Metrics.ServeHTTP(w, r)
	return nil
}

func (s *Server) openapi(w http.ResponseWriter, _ *http.Request, _ auth.Principal) error {
	w.Header().Set("Content-Type", "application/yaml")
	_, _ = w.Write(apispec.OpenAPI)
	return nil
}
