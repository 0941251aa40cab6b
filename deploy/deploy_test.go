// Package deploy_test checks the operations files in deploy/ against a real
// hookd: every metric the Grafana dashboard and the Prometheus alert rules
// name must be in what GET /metrics serves, and the rules must pass
// promtool when it is installed (CI installs it).
package deploy_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.yaml.in/yaml/v4"

	"github.com/hookd/hookd/internal/app"
	"github.com/hookd/hookd/internal/auth"
	"github.com/hookd/hookd/internal/config"
	"github.com/hookd/hookd/internal/store"
)

const (
	dashboardFile = "grafana/hookd.json"
	alertsFile    = "prometheus/alerts.yml"
	ingestToken   = "deploy-test-ingest-token"
)

// fromPrometheus are series Prometheus makes itself, not the target.
var fromPrometheus = map[string]bool{"up": true, "scrape_duration_seconds": true, "scrape_samples_scraped": true}

func TestDeployFilesNameOnlyMetricsHookdExports(t *testing.T) {
	exported, exposition := scrapeLiveHookd(t)
	t.Run("promtool check metrics", func(t *testing.T) {
		promtool(t, exposition, "check", "metrics")
	})
	used := map[string][]string{} // metric → where
	for where, expr := range dashboardExprs(t) {
		addNames(t, used, "dashboard "+where, expr)
	}
	for where, expr := range alertExprs(t) {
		addNames(t, used, "alert "+where, expr)
	}
	if len(used) < 20 {
		t.Fatalf("only %d metrics found in the deploy files: is the extraction broken?", len(used))
	}
	var missing []string
	for name, where := range used {
		if !exported[name] && !fromPrometheus[name] {
			missing = append(missing, fmt.Sprintf("%s (used by %s)", name, strings.Join(where, "; ")))
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("metrics named in deploy/ but not in hookd's /metrics:\n  %s", strings.Join(missing, "\n  "))
	}
}

func addNames(t *testing.T, used map[string][]string, where, expr string) {
	t.Helper()
	names, err := metricNames(expr)
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	for _, n := range names {
		used[n] = append(used[n], where)
	}
}

// dashboard is the part of Grafana's dashboard JSON this test reads.
type dashboard struct {
	Title         string  `json:"title"`
	UID           string  `json:"uid"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name  string          `json:"name"`
			Type  string          `json:"type"`
			Query json.RawMessage `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // a collapsed row's
}

// dashboardExprs reads the dashboard and checks its shape: a datasource
// variable every panel uses, unique panel ids, a query in every target.
func dashboardExprs(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if d.Title == "" || d.UID == "" || d.SchemaVersion == 0 || len(d.Panels) == 0 {
		t.Fatalf("%s: title, uid, schemaVersion and panels are required", dashboardFile)
	}
	exprs := map[string]string{}
	hasDatasource := false
	for _, v := range d.Templating.List {
		var q string
		if len(v.Query) > 0 && v.Query[0] == '{' {
			var obj struct {
				Query string `json:"query"`
			}
			_ = json.Unmarshal(v.Query, &obj)
			q = obj.Query
		} else {
			_ = json.Unmarshal(v.Query, &q)
		}
		switch v.Type {
		case "datasource":
			hasDatasource = v.Name == "datasource" && q == "prometheus"
		case "query":
			exprs["variable "+v.Name] = templateExpr(q)
		}
	}
	if !hasDatasource {
		t.Fatalf("%s: no datasource variable named datasource of type prometheus", dashboardFile)
	}
	ids := map[int]bool{}
	var walk func(ps []panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			if ids[p.ID] {
				t.Errorf("%s: panel id %d is used twice", dashboardFile, p.ID)
			}
			ids[p.ID] = true
			walk(p.Panels)
			if p.Type == "row" {
				continue
			}
			if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
				t.Errorf("%s: panel %q does not use the ${datasource} variable", dashboardFile, p.Title)
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: panel %q has no query", dashboardFile, p.Title)
			}
			for _, q := range p.Targets {
				if strings.TrimSpace(q.Expr) == "" {
					t.Errorf("%s: panel %q target %s has no expr", dashboardFile, p.Title, q.RefID)
				}
				exprs[fmt.Sprintf("panel %q %s", p.Title, q.RefID)] = q.Expr
			}
		}
	}
	walk(d.Panels)
	return exprs
}

// alertExprs reads the rule file and checks every alert has what an
// on-call engineer needs: a for, a severity, a summary and a description.
func alertExprs(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Record      string            `yaml:"record"`
				Expr        string            `yaml:"expr"`
				For         string            `yaml:"for"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(data, &rules); err != nil {
		t.Fatalf("%s: %v", alertsFile, err)
	}
	exprs := map[string]string{}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			name := r.Alert + r.Record
			if r.Alert != "" && (r.For == "" || r.Labels["severity"] == "" || r.Annotations["summary"] == "" ||
				r.Annotations["description"] == "") {
				t.Errorf("%s: alert %s needs for, labels.severity, annotations.summary and annotations.description", alertsFile, r.Alert)
			}
			exprs[name] = r.Expr
		}
	}
	if len(exprs) == 0 {
		t.Fatalf("%s: no rules", alertsFile)
	}
	return exprs
}

// scrapeLiveHookd runs hookd (app.Serve on a fresh embedded store), makes
// deliveries that succeed and that fail, ingests repeats and invalid
// events, and returns the sample names GET /metrics serves then.
func scrapeLiveHookd(t *testing.T) (names map[string]bool, exposition []byte) {
	t.Helper()
	rcv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.URL.Path == "/fail" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(rcv.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rcv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	cfg := hookdConfig(t, "--data-dir", dataDir, "--addr", "127.0.0.1:0", "--ingest-token", ingestToken,
		"--allow-cidr", "127.0.0.0/8", "--ca-file", caFile, "--retry-schedule", "0s")
	team, key := bootstrap(t, cfg)

	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- app.Serve(ctx, cfg, slog.New(slog.DiscardHandler), ready) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	var base string
	select {
	case addr := <-ready:
		base = "http://" + addr
	case err := <-done:
		t.Fatalf("Serve: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("hookd did not start")
	}

	c := &client{t: t, base: base}
	okHook := c.call("POST", "/api/v1/webhooks", key, team, map[string]any{"display_name": "ok",
		"webhook_url": rcv.URL + "/ok", "webhook_events": []string{"task.completed", "task.failed"}}, http.StatusCreated)["id"].(string)
	failHook := c.call("POST", "/api/v1/webhooks", key, team, map[string]any{"display_name": "fail",
		"webhook_url": rcv.URL + "/fail", "webhook_events": []string{"task.completed"}}, http.StatusCreated)["id"].(string)
	task := uuid.NewString()
	event := map[string]any{"team_id": team, "task_id": task, "task_status": "completed",
		"task_output": map[string]any{"storage_key": "tasks/x/output.png", "image_count": 1}, "task_error": ""}
	c.call("POST", "/internal/v1/task-events", ingestToken, "", event, http.StatusAccepted)
	c.call("POST", "/internal/v1/task-events", ingestToken, "", event, http.StatusOK) // a repeat
	c.call("POST", "/internal/v1/task-events/batch", ingestToken, "", map[string]any{"events": []any{
		map[string]any{"team_id": team, "task_id": uuid.NewString(), "task_status": "failed", "task_error": "lost"},
		map[string]any{"team_id": team}}}, http.StatusOK)
	c.call("POST", "/api/v1/webhooks/"+okHook+"/test", key, team, nil, http.StatusAccepted)
	waitFor(t, "the deliveries to end", func() bool {
		okDone := c.call("GET", "/api/v1/webhooks/"+okHook+"/deliveries?delivery_status=succeeded", key, team, nil, http.StatusOK)
		failDone := c.call("GET", "/api/v1/webhooks/"+failHook+"/deliveries?delivery_status=failed", key, team, nil, http.StatusOK)
		return total(okDone) == 3 && total(failDone) == 1
	})

	// Outcomes are counted once written; the store gauges are cached for a
	// few seconds: wait until the scrape shows both.
	waitFor(t, "/metrics to show the finished deliveries", func() bool {
		names, exposition = scrape(t, base)
		return names["hookd_deliveries_failed_total"] && names["hookd_deliveries_succeeded_total"]
	})
	return names, exposition
}

// scrape reads GET /metrics and returns every sample name in it, and the
// text itself.
func scrape(t *testing.T, base string) (map[string]bool, []byte) {
	t.Helper()
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d, %v", res.StatusCode, err)
	}
	names := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		end := strings.IndexAny(line, "{ ")
		if end < 0 {
			t.Fatalf("unexpected exposition line %q", line)
		}
		names[line[:end]] = true
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return names, body
}

func hookdConfig(t *testing.T, args ...string) *config.Config {
	t.Helper()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg := config.Register(fs, true)
	if err := config.Parse(fs, args, func(string) (string, bool) { return "", false }); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// bootstrap makes a team and an integration key in the store, as the
// administration commands would.
func bootstrap(t *testing.T, cfg *config.Config) (team, key string) {
	t.Helper()
	ctx := context.Background()
	st, err := app.CreateStore(ctx, cfg) // bootstraps a store, as `--init` does
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now().UTC()
	teamID := uuid.Must(uuid.NewV7())
	if err := st.CreateTeam(ctx, store.Team{ID: teamID, DisplayName: "ops", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	cred, raw, err := auth.NewCredential(teamID, uuid.Nil, store.KindIntegration, "deploy test", now, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateCredential(ctx, cred); err != nil {
		t.Fatal(err)
	}
	return teamID.String(), raw
}

type client struct {
	t    *testing.T
	base string
}

func (c *client) call(method, path, bearer, team string, body any, want int) map[string]any {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	if team != "" {
		req.Header.Set("X-Team-ID", team)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		c.t.Fatalf("%s %s: %d, want %d: %s", method, path, res.StatusCode, want, data)
	}
	var m map[string]any
	_ = json.Unmarshal(data, &m)
	return m
}

func total(list map[string]any) float64 {
	meta, _ := list["page_meta"].(map[string]any)
	n, _ := meta["total_count"].(float64)
	return n
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
