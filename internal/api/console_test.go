package api_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hookd/hookd/internal/api"
	"github.com/hookd/hookd/internal/console"
)

// The console is served by the API's router: the page with its security
// headers and the configured User-Agent, /console redirected to /console/,
// and anything else under it in the JSON envelope like every other miss.
func TestConsoleIsServedByTheRouter(t *testing.T) {
	srv := httptest.NewServer((&api.Server{UserAgent: "hookd/9.9.9-test", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}).Handler())
	defer srv.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(method, path string) (*http.Response, string) {
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res, string(body)
	}

	res, body := get("GET", "/console/")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /console/: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if res.Header.Get("Content-Security-Policy") != console.ContentSecurityPolicy {
		t.Fatalf("CSP: %q", res.Header.Get("Content-Security-Policy"))
	}
	if !strings.Contains(body, `content="hookd/9.9.9-test"`) {
		t.Fatalf("the page does not carry the User-Agent: %s", body)
	}

	if res, _ := get("GET", "/console"); res.StatusCode/100 != 3 || res.Header.Get("Location") != "/console/" {
		t.Fatalf("GET /console: %d Location %q", res.StatusCode, res.Header.Get("Location"))
	}
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/console/no-such-file.js", http.StatusNotFound},
		{"GET", "/console/js/", http.StatusNotFound}, // no directory listings
		{"POST", "/console/", http.StatusMethodNotAllowed},
	} {
		res, body := get(tc.method, tc.path)
		var envelope struct {
			ErrorMessage string `json:"error_message"`
		}
		if res.StatusCode != tc.status || json.Unmarshal([]byte(body), &envelope) != nil || envelope.ErrorMessage == "" {
			t.Errorf("%s %s: %d %q, want %d in the JSON envelope", tc.method, tc.path, res.StatusCode, body, tc.status)
		}
	}
}
