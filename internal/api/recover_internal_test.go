package api

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/jsonobj"
)

func TestParseRecoverWindow(t *testing.T) {
	now := time.Date(2026, 2, 16, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	for _, c := range []struct {
		name, body   string
		retention    time.Duration
		since, until time.Time
		field        string // "" when valid
	}{
		{"since only: until is now", `{"since":"2026-02-16T11:00:00Z"}`, day, now.Add(-time.Hour), now, ""},
		{"both, offsets normalised", `{"since":"2026-02-16T12:00:00+02:00","until":"2026-02-16T11:30:00.5Z"}`, day,
			now.Add(-2 * time.Hour), now.Add(-30*time.Minute + 500*time.Millisecond), ""},
		{"empty window", `{"since":"2026-02-16T11:00:00Z","until":"2026-02-16T11:00:00Z"}`, day, now.Add(-time.Hour), now.Add(-time.Hour), ""},
		{"future until", `{"since":"2026-02-16T11:00:00Z","until":"2026-02-17T00:00:00Z"}`, day, now.Add(-time.Hour), now.Add(12 * time.Hour), ""},
		{"at the retention edge", `{"since":"2026-02-15T12:00:00Z"}`, day, now.Add(-day), now, ""},
		{"no retention limit", `{"since":"2000-01-01T00:00:00Z"}`, 0, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), now, ""},
		{"before retention", `{"since":"2026-02-15T11:59:59Z"}`, day, time.Time{}, time.Time{}, "since"},
		{"after until", `{"since":"2026-02-16T11:00:00Z","until":"2026-02-16T10:00:00Z"}`, day, time.Time{}, time.Time{}, "since"},
		{"since missing", `{"until":"2026-02-16T10:00:00Z"}`, day, time.Time{}, time.Time{}, "since"},
		{"since not RFC 3339", `{"since":"2026-02-16 11:00:00"}`, day, time.Time{}, time.Time{}, "since"},
		{"since null", `{"since":null}`, day, time.Time{}, time.Time{}, "since"},
		{"until a number", `{"since":"2026-02-16T11:00:00Z","until":5}`, day, time.Time{}, time.Time{}, "until"},
		{"unknown field", `{"since":"2026-02-16T11:00:00Z","webhook":"x"}`, day, time.Time{}, time.Time{}, "webhook"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w, err := parseRecoverWindow([]byte(c.body), now, c.retention)
			if c.field != "" {
				var fe *jsonobj.Error
				if !errors.As(err, &fe) || fe.Field != c.field || !strings.Contains(err.Error(), c.field) {
					t.Fatalf("error %v, want one naming %s", err, c.field)
				}
				return
			}
			if err != nil || !w.Since.Equal(c.since) || !w.Until.Equal(c.until) || w.Since.Location() != time.UTC {
				t.Fatalf("window %v – %v, %v; want %v – %v", w.Since, w.Until, err, c.since, c.until)
			}
		})
	}
}
