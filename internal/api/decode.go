package api

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/hookd/hookd/internal/jsonobj"
	"io"
	"mime"
	"net/http"
)

const (
	maxManagementBody = 64 << 10
	maxIngestBody     = 1 << 20
	maxIngestBatch    = 16 << 20
)

// readJSONBody enforces SPEC §1 on a request body: at most limit bytes (413),
// a non-empty body must be application/json (415), and an empty body is 400
// when the route needs one.
func readJSONBody(r *http.Request, limit int64, required bool) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &Error{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large",
				Message: fmt.Sprintf("request body is larger than %d bytes", limit)}
		}
		return nil, badRequest("request body could not be read")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if required {
			return nil, badRequest("request body is required (a JSON object)")
		}
		return nil, nil
	}
	if !isJSONContentType(r.Header.Get("Content-Type")) {
		return nil, &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
			Message: "Content-Type must be application/json"}
	}
	return body, nil
}

func isJSONContentType(v string) bool {
	mt, _, err := mime.ParseMediaType(v)
	return err == nil && mt == "application/json"
}

// noBody accepts a route that takes no input: no body, or an empty JSON
// object (anything else is an unknown field or a wrong type).
func noBody(r *http.Request) error {
	body, err := readJSONBody(r, maxManagementBody, false)
	if err != nil || body == nil {
		return err
	}
	_, err = jsonobj.Decode(body)
	return err
}
