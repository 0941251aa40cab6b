package api

import (
	"net/http"

	"github.com/hookd/hookd/internal/auth"
)

// serveConsole serves the embedded web console; a path below /console/ that
// names no console file is the API's usual JSON 404.
func (s *Server) serveConsole(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	if !s.console.Serve(w, r) {
		return notFound("console page")
	}
	return nil
}
