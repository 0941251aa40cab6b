package bench

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/store/postgres"
)

// tinyOptions runs every scenario at sizes that finish in seconds.
func tinyOptions(t *testing.T, database string) Options {
	return Options{
		Database: database, Events: 200, Rate: 200, Duration: time.Second, Webhooks: 20,
		IsolationEvents: 100, BacklogEvents: 2000, Batch: 100, Timeout: 60 * time.Second,
		TempDir: t.TempDir(),
	}
}

// checkReport checks that every scenario ran and its figures are sane: all
// unique deliveries received (Run fails otherwise), positive rates, ratios,
// no bad signatures, latencies ordered.
func checkReport(t *testing.T, rep Report) {
	t.Helper()
	if len(rep.Results) != len(Scenarios) {
		t.Fatalf("%d results, want %d", len(rep.Results), len(Scenarios))
	}
	want := map[string]int64{
		ScenarioCeiling: 200, ScenarioThroughput: 200, ScenarioLatency: 200,
		ScenarioFanout: 20, ScenarioIsolation: 900, ScenarioBacklog: 2000,
	}
	for i, r := range rep.Results {
		if r.Scenario != Scenarios[i] {
			t.Errorf("result %d is %q, want %q", i, r.Scenario, Scenarios[i])
		}
		if r.Deliveries != want[r.Scenario] {
			t.Errorf("%s: %d deliveries, want %d", r.Scenario, r.Deliveries, want[r.Scenario])
		}
		if r.Seconds <= 0 || r.PerSecond <= 0 {
			t.Errorf("%s: %.3f s, %.0f/s: want positive", r.Scenario, r.Seconds, r.PerSecond)
		}
		if r.BadSignatures != 0 {
			t.Errorf("%s: %d bad signatures", r.Scenario, r.BadSignatures)
		}
		switch r.Scenario {
		case ScenarioThroughput, ScenarioIsolation:
			if r.Ratio <= 0 {
				t.Errorf("%s: ratio %.3f, want > 0", r.Scenario, r.Ratio)
			}
		case ScenarioLatency:
			l := r.Latency
			if !(l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.Max) || l.Max <= 0 {
				t.Errorf("latency percentiles out of order or empty: %+v", l)
			}
			if r.TargetMet == nil {
				t.Error("latency: no verdict on the p99 target")
			}
		case ScenarioBacklog:
			if _, err := os.Stat("/proc/self/status"); err == nil && r.PeakRSSMiB <= 0 {
				t.Errorf("backlog: peak RSS %.1f MiB, want > 0", r.PeakRSSMiB)
			}
		}
	}
	var table, js bytes.Buffer
	if err := WriteTable(&table, rep); err != nil {
		t.Fatal(err)
	}
	for _, s := range Scenarios {
		if !strings.Contains(table.String(), s) {
			t.Errorf("table lacks %s:\n%s", s, table.String())
		}
	}
	if err := WriteJSON(&js, rep); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.Results) != len(rep.Results) {
		t.Errorf("JSON does not round-trip: %v", err)
	}
}

func TestAllScenariosSQLite(t *testing.T) {
	rep, err := Run(t.Context(), tinyOptions(t, "sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Store != "sqlite" {
		t.Errorf("store %q", rep.Store)
	}
	checkReport(t, rep)
}

func TestAllScenariosPostgres(t *testing.T) {
	url := os.Getenv(postgres.TestDatabaseEnv)
	if url == "" {
		t.Skipf("set %s to run the PostgreSQL scenarios", postgres.TestDatabaseEnv)
	}
	rep, err := Run(t.Context(), tinyOptions(t, url))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Store != "postgres" {
		t.Errorf("store %q", rep.Store)
	}
	checkReport(t, rep)
}

// A receiver must refuse a wrong signature and count it, and count a
// repeated delivery id as a duplicate, never as progress.
func TestReceiverVerifiesAndDeduplicates(t *testing.T) {
	rcv, err := startReceiver(t.TempDir(), os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer rcv.close()
	ep := rcv.addEndpoint("/r")
	ep.setSecret("whsec_right")
	env := &environment{opts: Options{Concurrency: 1}, rcv: rcv}
	client, err := env.plainClient()
	if err != nil {
		t.Fatal(err)
	}
	if err := postSigned(t.Context(), client, rcv.url(ep), "whsec_wrong"); err == nil {
		t.Error("a wrong signature was accepted")
	}
	if err := postSigned(t.Context(), client, rcv.url(ep), "whsec_right"); err != nil {
		t.Fatal(err)
	}
	c := rcv.counters()
	if c.BadSignatures != 1 || c.Unique != 1 || ep.unique.Load() != 1 {
		t.Errorf("counters %+v, endpoint unique %d", c, ep.unique.Load())
	}
}

func TestParseScenarios(t *testing.T) {
	got, err := ParseScenarios("backlog, ceiling")
	if err != nil || strings.Join(got, ",") != "ceiling,backlog" {
		t.Errorf("got %v, %v", got, err)
	}
	if all, _ := ParseScenarios("all"); len(all) != len(Scenarios) {
		t.Errorf("all = %v", all)
	}
	if _, err := ParseScenarios("nope"); err == nil {
		t.Error("unknown scenario accepted")
	}
	o := Options{Scenarios: []string{ScenarioThroughput}}
	if err := o.fill(); err != nil || o.Scenarios[0] != ScenarioCeiling {
		t.Errorf("throughput alone should bring the ceiling: %v %v", o.Scenarios, err)
	}
}

func TestSummarize(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	l := summarize(ds)
	if l.P50 != 50 || l.P90 != 90 || l.P99 != 99 || l.Max != 100 {
		t.Errorf("summarize = %+v", l)
	}
}
