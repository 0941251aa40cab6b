package delivery

import (
	"bufio"
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
)

// logSink collects JSON log records.
type logSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *logSink) text() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// records returns the records whose message is msg.
func (s *logSink) records(t *testing.T, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(s.text()))
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("log line is not JSON: %s", sc.Text())
		}
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

const (
	failedForGoodMsg = "delivery failed: no attempts left"
	keepsFailingMsg  = "endpoint keeps failing; deliveries will be retried"
)

// At info, a delivery that ends failed gets one warn line naming the
// webhook, the delivery, its attempts and how the last one failed; an
// endpoint that keeps failing gets one info line per minute at most;
// successes log nothing. Never a webhook secret.
func TestLogsTellWhatHappenedAtInfo(t *testing.T) {
	e := newEnv(t, openSQLite(t))
	down, _ := e.webhook(t, e.team, newReceiver(t, answer(http.StatusInternalServerError, "no")).URL())
	_, upSecret := e.webhook(t, e.team, newReceiver(t, answer(http.StatusOK, "")).URL())
	sink := &logSink{}
	reg := prometheus.NewRegistry()
	eng := e.newEngine(t, Config{
		Schedule:   []time.Duration{0}, // two attempts
		Logger:     slog.New(slog.NewJSONHandler(sink, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Registerer: reg,
	})
	start(t, eng)
	e.ingest(t, e.team, 3)
	eng.Wake()
	waitFor(t, 10*time.Second, "three failed deliveries logged", func() bool { return len(sink.records(t, failedForGoodMsg)) == 3 })
	waitFor(t, 10*time.Second, "three successes counted", func() bool {
		return counterValue(t, reg, "hookd_deliveries_succeeded_total", "task.completed") == 3
	})

	wantIDs := map[string]bool{}
	for _, d := range e.deliveries(t, e.team, down) {
		wantIDs[d.ID.String()] = true
	}
	for _, rec := range sink.records(t, failedForGoodMsg) {
		if rec["level"] != "WARN" || rec["webhook_id"] != down.ID.String() || !wantIDs[rec["delivery_id"].(string)] ||
			rec["attempts"] != float64(2) || rec["last_error_class"] != "http_status" || rec["last_error"] != "HTTP 500" ||
			rec["event_type"] != "task.completed" {
			t.Errorf("failed-delivery line = %v", rec)
		}
		delete(wantIDs, rec["delivery_id"].(string))
	}
	if len(wantIDs) != 0 {
		t.Errorf("deliveries without their failed line: %v", wantIDs)
	}
	// Three first attempts failed within a minute: one line for the webhook.
	keeps := sink.records(t, keepsFailingMsg)
	if len(keeps) != 1 {
		t.Fatalf("%d 'keeps failing' lines within a minute, want 1:\n%s", len(keeps), sink.text())
	}
	if rec := keeps[0]; rec["level"] != "INFO" || rec["webhook_id"] != down.ID.String() || rec["failed_attempts"] != float64(1) ||
		rec["last_error_class"] != "http_status" || rec["next_attempt_at"] == nil {
		t.Errorf("keeps-failing line = %v", rec)
	}
	if got := counterValue(t, reg, "hookd_deliveries_failed_total", "task.completed"); got != 3 {
		t.Errorf("hookd_deliveries_failed_total{task.completed} = %v, want 3", got)
	}
	if logs := sink.text(); strings.Contains(logs, upSecret) || strings.Contains(logs, strings.TrimPrefix(upSecret, "whsec_")) {
		t.Fatalf("a webhook secret appears in the logs:\n%s", logs)
	}
}

func counterValue(t *testing.T, reg *prometheus.Registry, name, eventType string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "event_type" && l.GetValue() == eventType {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

func TestRateLimiterAllowsOnePerKeyPerPeriodAndCountsTheRest(t *testing.T) {
	r := &rateLimiter{every: time.Minute}
	a, b := uuid.New(), uuid.New()
	t0 := time.Date(2026, 2, 16, 10, 0, 0, 0, time.UTC)
	for i, c := range []struct {
		key       uuid.UUID
		at        time.Duration
		ok        bool
		wantCount int
	}{
		{a, 0, true, 1},
		{a, 10 * time.Second, false, 0},
		{b, 10 * time.Second, true, 1}, // another webhook has its own minute
		{a, 59 * time.Second, false, 0},
		{a, 60 * time.Second, true, 3}, // the two refused since, and this one
		{a, 61 * time.Second, false, 0},
		{b, 5 * time.Minute, true, 1},
	} {
		ok, n := r.allow(c.key, t0.Add(c.at))
		if ok != c.ok || n != c.wantCount {
			t.Errorf("step %d: allow = %v, %d; want %v, %d", i, ok, n, c.ok, c.wantCount)
		}
	}
}
