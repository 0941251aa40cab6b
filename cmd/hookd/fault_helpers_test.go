package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// The fault suite (fault_*_test.go) runs the built binary against both
// stores and breaks things from outside: kill -9, terminated PostgreSQL
// sessions, a full disk, misbehaving receivers, a long soak. Every test has
// a short variant in the normal run; HOOKD_FAULT_FULL=1 switches on the long
// ones (20 kills per store, the 10-minute soak). With HOOKD_FAULT_REPORT set
// to a file, each test appends its measured figures there as JSON lines:
// RELIABILITY.md's tables come from such a file.

// faultFull reports whether the long variants run.
func faultFull() bool { return os.Getenv("HOOKD_FAULT_FULL") == "1" }

// shortOrFull is short in the normal run and full with HOOKD_FAULT_FULL=1.
func shortOrFull[T any](short, full T) T {
	if faultFull() {
		return full
	}
	return short
}

// recordFigures logs a test's measured figures and appends them to
// $HOOKD_FAULT_REPORT as one JSON line.
func recordFigures(t *testing.T, figures map[string]any) {
	t.Helper()
	figures["test"] = t.Name()
	figures["full"] = faultFull()
	figures["at"] = time.Now().UTC().Format(time.RFC3339)
	line, _ := json.Marshal(figures)
	t.Logf("figures: %s", line)
	if path := os.Getenv("HOOKD_FAULT_REPORT"); path != "" {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			t.Errorf("HOOKD_FAULT_REPORT: %v", err)
			return
		}
		defer f.Close()
		_, _ = f.Write(append(line, '\n'))
	}
}

// faultEnv is one store with a team, an admin token and a fault receiver.
type faultEnv struct {
	t         *testing.T
	store     string
	storeArgs []string
	appName   string // PostgreSQL: the application_name of hookd's sessions
	team      string
	token     string
	rcv       *faultReceiver
}

func newFaultEnv(t *testing.T, sc storeConfig, storeArgs ...string) *faultEnv {
	t.Helper()
	e := &faultEnv{t: t, store: sc.name, rcv: newFaultReceiver(t)}
	if storeArgs == nil {
		storeArgs = sc.resolve(t)
	}
	if sc.name == "postgres" {
		// Name hookd's sessions so that a test can find and terminate
		// exactly them (pool, LISTEN and owner-lock connections alike).
		e.appName = "hookd_fault_" + strings.ReplaceAll(uuid.NewString()[:13], "-", "")
		for i := range storeArgs {
			if i > 0 && storeArgs[i-1] == "--database" {
				storeArgs[i] += "&application_name=" + e.appName
			}
		}
	}
	e.storeArgs = storeArgs
	e.team, e.token = bootstrap(t, storeArgs)
	return e
}

// serveArgs are the flags of `hookd serve` on this env, then extra.
func (e *faultEnv) serveArgs(extra ...string) []string {
	args := append([]string{}, e.storeArgs...)
	args = append(args, "--ingest-token", e2eIngestToken, "--allow-cidr", "127.0.0.0/8", "--ca-file", e.rcv.caFile)
	return append(args, extra...)
}

// createWebhook registers url for the team's task.completed events and
// tells the receiver the secret of path.
func (e *faultEnv) createWebhook(h *hookd, name, url, path string) string {
	e.t.Helper()
	return createWebhookFor(e.t, h, e.token, e.team, name, url, path, e.rcv)
}

func createWebhookFor(t *testing.T, h *hookd, token, team, name, url, path string, rcv *faultReceiver) string {
	t.Helper()
	code, created := call(t, "POST", h.base+"/api/v1/webhooks", token, team, map[string]any{
		"display_name": name, "webhook_url": url, "webhook_events": []string{"task.completed", "task.failed"}})
	if code != http.StatusCreated {
		t.Fatalf("create webhook %s: %d %v", name, code, created)
	}
	if path != "" {
		rcv.setSecret(path, created["webhook_secret"].(string))
	}
	return created["id"].(string)
}

// waitLogSucceeded waits until every delivery in the webhook's log has
// succeeded and returns how many there are; fewer than accepted (one per
// accepted event) is an error: an accepted event left no delivery.
func (e *faultEnv) waitLogSucceeded(t *testing.T, h *hookd, hookID string, accepted int) int {
	t.Helper()
	var total int
	waitFor(t, "every delivery succeeded in the log", 30*time.Second, func() bool {
		total = countDeliveries(t, h, e.token, e.team, hookID, "")
		return countDeliveries(t, h, e.token, e.team, hookID, "succeeded") == total
	})
	if total < accepted {
		t.Errorf("the log has %d deliveries for %d accepted events", total, accepted)
	}
	return total
}

// countDeliveries is the delivery log's total for a webhook and status
// ("" for all).
func countDeliveries(t *testing.T, h *hookd, token, team, hookID, status string) int {
	t.Helper()
	q := "?per_page=1"
	if status != "" {
		q += "&delivery_status=" + status
	}
	code, l := call(t, "GET", h.base+"/api/v1/webhooks/"+hookID+"/deliveries"+q, token, team, nil)
	if code != 200 {
		t.Fatalf("delivery list: %d %v", code, l)
	}
	return int(l["page_meta"].(map[string]any)["total_count"].(float64))
}

// listDeliveries reads up to 100 deliveries of a webhook.
func listDeliveries(t *testing.T, h *hookd, token, team, hookID string) []map[string]any {
	t.Helper()
	code, l := call(t, "GET", h.base+"/api/v1/webhooks/"+hookID+"/deliveries?per_page=100", token, team, nil)
	if code != 200 {
		t.Fatalf("delivery list: %d %v", code, l)
	}
	var out []map[string]any
	for _, d := range l["delivery_list"].([]any) {
		out = append(out, d.(map[string]any))
	}
	return out
}

// loader ingests events for one team through whichever hookd base() names,
// and remembers which were accepted: a 202 (or a batch result with an
// event id) is hookd's promise to deliver.
type loader struct {
	client *http.Client
	base   func() string
	teams  []string // events go to each in turn
	next   atomic.Uint64

	mu         sync.Mutex
	accepted   map[string]time.Time // task id → when hookd answered
	sent       map[string]time.Time // task id → when its single ingest was sent
	refused    map[int]int          // non-accepting answers by status
	unanswered int                  // requests that got no answer (hookd killed, restarting)
	requests   chan struct{}        // a request is being sent
}

func newLoader(team string, base func() string) *loader {
	return &loader{
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
		base:   base, teams: []string{team}, accepted: map[string]time.Time{}, sent: map[string]time.Time{}, refused: map[int]int{},
		requests: make(chan struct{}, 1),
	}
}

func (l *loader) event() (string, map[string]any) {
	task := uuid.NewString()
	team := l.teams[int(l.next.Add(1)%uint64(len(l.teams)))]
	return task, map[string]any{"team_id": team, "task_id": task, "task_status": "completed",
		"task_output": map[string]any{"storage_key": "tasks/" + task + "/output.png", "image_count": 1}}
}

func (l *loader) post(path string, body any) (int, []byte, error) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", l.base()+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+e2eIngestToken)
	notify(l.requests)
	res, err := l.client.Do(req)
	if err != nil {
		l.mu.Lock()
		l.unanswered++
		l.mu.Unlock()
		return 0, nil, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		l.mu.Lock()
		l.unanswered++
		l.mu.Unlock()
		return 0, nil, err
	}
	return res.StatusCode, data, nil
}

// one ingests a single event; it reports whether it was accepted.
func (l *loader) one() bool {
	task, ev := l.event()
	sent := time.Now()
	code, _, err := l.post("/internal/v1/task-events", ev)
	if err != nil {
		return false
	}
	at := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if code == http.StatusAccepted || code == http.StatusOK {
		l.accepted[task] = at
		l.sent[task] = sent
		return true
	}
	l.refused[code]++
	return false
}

// batch ingests n events in one request.
func (l *loader) batch(n int) {
	tasks := make([]string, n)
	events := make([]map[string]any, n)
	for i := range events {
		tasks[i], events[i] = l.event()
	}
	code, data, err := l.post("/internal/v1/task-events/batch", map[string]any{"events": events})
	if err != nil {
		return
	}
	at := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if code != http.StatusOK {
		l.refused[code]++
		return
	}
	var res struct {
		Results []struct {
			EventID string `json:"event_id"`
			Status  int    `json:"status"`
		} `json:"results"`
	}
	if err := json.Unmarshal(data, &res); err != nil || len(res.Results) != n {
		l.refused[-1]++
		return
	}
	for i, r := range res.Results {
		if r.EventID != "" {
			l.accepted[tasks[i]] = at
		} else {
			l.refused[r.Status]++
		}
	}
}

// run calls step every interval until ctx ends, then waits for the last.
func (l *loader) run(ctx context.Context, interval time.Duration, step func()) (wait func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				step()
			}
		}
	}()
	return func() { <-done }
}

func (l *loader) acceptedTasks() map[string]time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]time.Time, len(l.accepted))
	for k, v := range l.accepted {
		out[k] = v
	}
	return out
}

func (l *loader) sentAt(task string) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sent[task]
}

func (l *loader) refusals() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprintf("refused %v, unanswered %d", l.refused, l.unanswered)
}

// missing lists the accepted tasks that no 2xx receipt shows.
func missing(accepted map[string]time.Time, rs []receipt) []string {
	ok := okTasks(rs)
	var out []string
	for task := range accepted {
		if ok[task] == 0 {
			out = append(out, task)
		}
	}
	sort.Strings(out)
	return out
}

// metric sums the samples of a Prometheus metric (all label sets, or those
// whose labels contain match).
func metric(t *testing.T, h *hookd, name, match string) float64 {
	t.Helper()
	res, err := http.Get(h.base + "/metrics")
	if err != nil {
		t.Fatalf("/metrics: %v", err)
	}
	defer res.Body.Close()
	sum := 0.0
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		if !strings.HasPrefix(rest, " ") && !strings.HasPrefix(rest, "{") {
			continue
		}
		if match != "" && !strings.Contains(rest, match) {
			continue
		}
		f := strings.Fields(line)
		if v, err := strconv.ParseFloat(f[len(f)-1], 64); err == nil {
			sum += v
		}
	}
	return sum
}

// rssKiB is a process's resident set size (VmRSS) in KiB.
func rssKiB(pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			n, _ := strconv.Atoi(strings.Fields(line)[1])
			return n
		}
	}
	return 0
}

// terminateBackends ends every PostgreSQL session named appName and
// returns how many there were.
func terminateBackends(t *testing.T, appName string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, os.Getenv("HOOKD_TEST_DATABASE_URL"))
	if err != nil {
		t.Fatalf("connecting to terminate backends: %v", err)
	}
	defer conn.Close(context.Background())
	var n int
	err = conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = $1 AND pid <> pg_backend_pid()`, appName).Scan(&n)
	if err != nil {
		t.Fatalf("pg_terminate_backend: %v", err)
	}
	return n
}

// alive fails the test when hookd has exited.
func (h *hookd) alive() bool {
	select {
	case err := <-h.done:
		h.done <- err
		return false
	default:
		return true
	}
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(p * float64(len(s)-1))
	return s[i]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// pendingSince reports whether the webhook has a pending delivery created
// at or before at (the log's created_at has whole seconds, so deliveries of
// at's second count too).
func pendingSince(t *testing.T, h *hookd, token, team, hookID string, at time.Time) bool {
	t.Helper()
	total := countDeliveries(t, h, token, team, hookID, "pending")
	if total == 0 {
		return false
	}
	last := (total + 99) / 100 // newest first: the oldest is on the last page
	code, l := call(t, "GET", fmt.Sprintf("%s/api/v1/webhooks/%s/deliveries?delivery_status=pending&per_page=100&current_page=%d",
		h.base, hookID, last), token, team, nil)
	if code != 200 {
		t.Fatalf("pending list: %d %v", code, l)
	}
	list := l["delivery_list"].([]any)
	if len(list) == 0 {
		return true // the list moved under us: ask again
	}
	created, err := time.Parse(time.RFC3339, list[len(list)-1].(map[string]any)["created_at"].(string))
	if err != nil {
		t.Fatal(err)
	}
	return !created.After(at)
}

// hookdSessions counts the PostgreSQL sessions named appName: all, those
// whose last statement was a LISTEN, and those holding an advisory lock
// (the owner lock).
func hookdSessions(t *testing.T, appName string) (all, listening, locking int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, os.Getenv("HOOKD_TEST_DATABASE_URL"))
	if err != nil {
		t.Fatalf("connecting to list sessions: %v", err)
	}
	defer conn.Close(context.Background())
	err = conn.QueryRow(ctx, `SELECT count(*),
			count(*) FILTER (WHERE a.query ILIKE 'LISTEN %'),
			count(*) FILTER (WHERE EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.locktype = 'advisory' AND l.granted))
		FROM pg_stat_activity a WHERE a.application_name = $1`, appName).Scan(&all, &listening, &locking)
	if err != nil {
		t.Fatalf("listing hookd's sessions: %v", err)
	}
	return all, listening, locking
}
