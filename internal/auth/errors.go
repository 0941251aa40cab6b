package auth

import "net/http"

// Error is an authentication or authorization failure with the HTTP status
// to answer. Message is safe to show to the caller: it names the header or
// field at fault and never contains a token or key. The API layer adds
// `WWW-Authenticate: Bearer` to 401 answers.
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string { return e.Message }

func unauthorized(msg string) *Error { return &Error{Status: http.StatusUnauthorized, Message: msg} }
func forbidden(msg string) *Error    { return &Error{Status: http.StatusForbidden, Message: msg} }
func badRequest(msg string) *Error   { return &Error{Status: http.StatusBadRequest, Message: msg} }
