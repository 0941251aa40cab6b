package delivery

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

func TestParseSchedule(t *testing.T) {
	cases := []struct {
		in      string
		want    []time.Duration
		wantErr string // substring; "" means no error
	}{
		{in: "0s,5s,30s,2m", want: DefaultSchedule},
		{in: " 0s , 100ms,200ms ,400ms ", want: []time.Duration{0, 100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond}},
		{in: "", want: []time.Duration{}},
		{in: "   ", want: []time.Duration{}},
		{in: "1h30m", want: []time.Duration{90 * time.Minute}},
		{in: "5s,-1s", wantErr: `item 2 "-1s" is negative`},
		{in: "5s,soon", wantErr: `item 2 "soon" is not a duration`},
		{in: "5", wantErr: `item 1 "5" is not a duration`},
		{in: "5s,,10s", wantErr: "item 2 is empty"},
		{in: "5s,", wantErr: "item 2 is empty"},
	}
	for _, c := range cases {
		got, err := ParseSchedule(c.in)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("ParseSchedule(%q) error = %v, want one containing %q", c.in, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseSchedule(%q) error = %v", c.in, err)
			continue
		}
		if got == nil {
			t.Errorf("ParseSchedule(%q) = nil, want a non-nil slice", c.in)
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("ParseSchedule(%q) mismatch (-want +got):\n%s", c.in, diff)
		}
	}
}

func TestNextAttemptTable(t *testing.T) {
	at := time.Date(2026, 2, 16, 9, 0, 0, 0, time.UTC)
	cases := []struct {
		schedule []time.Duration
		done     int
		want     time.Time
		ok       bool
	}{
		{DefaultSchedule, 0, at, true},
		{DefaultSchedule, 1, at, true},
		{DefaultSchedule, 2, at.Add(5 * time.Second), true},
		{DefaultSchedule, 3, at.Add(30 * time.Second), true},
		{DefaultSchedule, 4, at.Add(2 * time.Minute), true},
		{DefaultSchedule, 5, time.Time{}, false},
		{DefaultSchedule, 99, time.Time{}, false},
		{[]time.Duration{}, 1, time.Time{}, false},
		{nil, 1, time.Time{}, false},
		{[]time.Duration{time.Hour}, 1, at.Add(time.Hour), true},
		{[]time.Duration{time.Hour}, 2, time.Time{}, false},
		{DefaultSchedule, -3, at, true},
	}
	for _, c := range cases {
		got, ok := NextAttempt(c.schedule, c.done, at)
		if ok != c.ok || !got.Equal(c.want) {
			t.Errorf("NextAttempt(%v, %d) = %v, %v; want %v, %v", c.schedule, c.done, got, ok, c.want, c.ok)
		}
	}
}

// A delivery makes exactly 1+len(schedule) attempts, each retry waits exactly
// its schedule entry, and no retry is ever due before the failure.
func TestNextAttemptProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		schedule := rapid.SliceOfN(rapid.Int64Range(0, int64(24*time.Hour)), 0, 10).Draw(t, "schedule")
		durations := make([]time.Duration, len(schedule))
		for i, d := range schedule {
			durations[i] = time.Duration(d)
		}
		failedAt := time.Unix(rapid.Int64Range(0, 4e9).Draw(t, "unix"), 0)

		attempts := 1 // the first attempt is always made
		last := failedAt
		for done := 1; ; done++ {
			next, ok := NextAttempt(durations, done, last)
			if !ok {
				break
			}
			if next.Before(last) {
				t.Fatalf("retry %d due %v before the failure at %v", done, next, last)
			}
			if got := next.Sub(last); got != durations[done-1] {
				t.Fatalf("retry %d waits %v, want %v", done, got, durations[done-1])
			}
			attempts++
			last = next.Add(time.Second) // the retry itself takes a while and fails
		}
		if attempts != 1+len(durations) {
			t.Fatalf("%d attempts in all, want %d", attempts, 1+len(durations))
		}
	})
}

func TestParseScheduleRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		raw := rapid.SliceOfN(rapid.Int64Range(0, int64(1000*time.Hour)), 0, 8).Draw(t, "schedule")
		items := make([]string, len(raw))
		want := make([]time.Duration, len(raw))
		for i, d := range raw {
			want[i] = time.Duration(d)
			items[i] = want[i].String()
		}
		got, err := ParseSchedule(strings.Join(items, ","))
		if err != nil {
			t.Fatalf("ParseSchedule: %v", err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("round trip mismatch (-want +got):\n%s", diff)
		}
	})
}

func BenchmarkNextAttempt(b *testing.B) {
	b.ReportAllocs()
	at := time.Now()
	for i := 0; b.Loop(); i++ {
		NextAttempt(DefaultSchedule, i%6, at)
	}
}

func TestCeilMillisecond(t *testing.T) {
	base := time.Date(2026, 2, 16, 9, 0, 0, 0, time.UTC)
	for in, want := range map[time.Time]time.Time{
		base:                              base,
		base.Add(time.Millisecond):        base.Add(time.Millisecond),
		base.Add(1):                       base.Add(time.Millisecond),
		base.Add(999 * time.Microsecond):  base.Add(time.Millisecond),
		base.Add(1001 * time.Microsecond): base.Add(2 * time.Millisecond),
	} {
		if got := ceilMillisecond(in); !got.Equal(want) {
			t.Errorf("ceilMillisecond(%v) = %v, want %v", in, got, want)
		}
	}
}
