package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/hookd/hookd/internal/auth"
	"github.com/hookd/hookd/internal/jsonobj"
	"github.com/hookd/hookd/internal/store"
)

// Error is an answer other than success: a status, a machine-readable code
// and a human-readable message naming the offending field.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

func badRequest(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "invalid_request", Message: fmt.Sprintf(format, args...)}
}

func notFound(what string) *Error {
	return &Error{Status: http.StatusNotFound, Code: "not_found", Message: what + " not found"}
}

var errForbidden = &Error{Status: http.StatusForbidden, Code: "forbidden", Message: "your role does not allow this operation"}

type errorBody struct {
	ErrorMessage string `json:"error_message"`
	ErrorCode    string `json:"error_code,omitempty"`
}

// writeError maps any error to the SPEC's envelope. Unknown errors are 500
// with no internal detail; they are logged instead.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var apiErr *Error
	var authErr *auth.Error
	var inputErr *jsonobj.Error
	switch {
	case errors.As(err, &apiErr):
	case errors.As(err, &inputErr):
		apiErr = &Error{Status: http.StatusBadRequest, Code: "invalid_request", Message: inputErr.Error()}
	case errors.As(err, &authErr):
		apiErr = &Error{Status: authErr.Status, Code: authCode(authErr.Status), Message: authErr.Message}
	case errors.Is(err, store.ErrNotFound):
		apiErr = notFound("resource")
	case errors.Is(err, store.ErrWebhookDisabled):
		apiErr = &Error{Status: http.StatusConflict, Code: "webhook_disabled", Message: "the webhook is disabled; enable it first"}
	default:
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		apiErr = &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error"}
	}
	if apiErr.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", "Bearer")
	}
	writeJSON(w, apiErr.Status, errorBody{ErrorMessage: apiErr.Message, ErrorCode: apiErr.Code})
}

func authCode(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusForbidden:
		return "forbidden"
	default:
		return "invalid_request"
	}
}
