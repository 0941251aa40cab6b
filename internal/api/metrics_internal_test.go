package api

import "testing"

func TestIngestOutcomeByStatus(t *testing.T) {
	for _, c := range []struct {
		batch  bool
		status int
		want   string
	}{
		{false, 202, outcomeAccepted},
		{false, 200, outcomeDuplicate},
		{true, 200, outcomeAccepted}, // a batch answers 200 with per-event results
		{false, 400, outcomeInvalid},
		{true, 400, outcomeInvalid},
		{false, 413, outcomeInvalid},
		{false, 415, outcomeInvalid},
		{false, 409, outcomeConflict},
		{false, 401, outcomeUnauthorized},
		{true, 401, outcomeUnauthorized},
		{false, 500, outcomeError},
		{true, 503, outcomeError},
	} {
		if got := ingestOutcome(c.batch, c.status); got != c.want {
			t.Errorf("ingestOutcome(batch=%v, %d) = %q, want %q", c.batch, c.status, got, c.want)
		}
	}
}

func TestMethodLabelIsBounded(t *testing.T) {
	for in, want := range map[string]string{"GET": "GET", "DELETE": "DELETE", "BREW": "other", "get": "other", "": "other"} {
		if got := methodLabel(in); got != want {
			t.Errorf("methodLabel(%q) = %q, want %q", in, got, want)
		}
	}
}
