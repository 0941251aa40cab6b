package delivery

import (
	"fmt"
	"strings"
	"time"
)

// DefaultSchedule is SPEC §5's retry policy: after a failed attempt, wait
// 0 s, 5 s, 30 s, then 2 min before retries 1…4 (5 attempts in all).
var DefaultSchedule = []time.Duration{0, 5 * time.Second, 30 * time.Second, 2 * time.Minute}

// ParseSchedule reads a --retry-schedule value: comma-separated Go
// durations, each the wait after a failure before the next attempt.
// An empty (or all-blank) string is a valid empty schedule: a single
// attempt, no retries. It returns a non-nil slice on success so that callers
// can tell "no retries" apart from "not configured" (nil).
func ParseSchedule(s string) ([]time.Duration, error) {
	out := []time.Duration{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for i, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, fmt.Errorf("retry schedule item %d is empty", i+1)
		}
		d, err := time.ParseDuration(item)
		if err != nil {
			return nil, fmt.Errorf("retry schedule item %d %q is not a duration (like 5s or 2m)", i+1, item)
		}
		if d < 0 {
			return nil, fmt.Errorf("retry schedule item %d %q is negative", i+1, item)
		}
		out = append(out, d)
	}
	return out, nil
}

// NextAttempt says when the next attempt of a delivery is due after
// attemptsDone attempts have failed, the last one finishing at failedAt.
// ok is false when the delivery has used all 1+len(schedule) attempts and
// is failed for good. Fewer than one failed attempt means the first attempt,
// which is due at once.
func NextAttempt(schedule []time.Duration, attemptsDone int, failedAt time.Time) (next time.Time, ok bool) {
	if attemptsDone < 1 {
		return failedAt, true
	}
	if attemptsDone > len(schedule) {
		return time.Time{}, false
	}
	return failedAt.Add(schedule[attemptsDone-1]), true
}
