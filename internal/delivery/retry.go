package delivery

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
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

// RetryAfterWait is the wait before the next attempt when the receiver
// answered with Retry-After: the larger of the schedule's wait and
// Retry-After, capped at the schedule's longest wait, so that a receiver can
// slow hookd down but never make it give up early or wait longer than the
// schedule ever would. ok is false when no attempt is left.
func RetryAfterWait(schedule []time.Duration, attemptsDone int, retryAfter time.Duration) (wait time.Duration, ok bool) {
	if attemptsDone < 1 {
		return 0, true
	}
	if attemptsDone > len(schedule) {
		return 0, false
	}
	wait = schedule[attemptsDone-1]
	longest := slices.Max(schedule)
	if retryAfter > wait {
		wait = min(retryAfter, max(longest, wait))
	}
	return wait, true
}

// maxRetryAfter bounds what parseRetryAfter accepts; anything longer is
// capped by the schedule anyway.
const maxRetryAfter = 24 * time.Hour

// parseRetryAfter reads a Retry-After header (RFC 9110 §10.2.3): a number of
// seconds, or an HTTP date. Anything else, a negative delay or a date in the
// past, is no delay at all.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return min(time.Duration(min(secs, int64(maxRetryAfter/time.Second)))*time.Second, maxRetryAfter)
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	if d := at.Sub(now); d > 0 {
		return min(d, maxRetryAfter)
	}
	return 0
}
