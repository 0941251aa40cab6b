package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/store/postgres"
)

// binDir holds the hookd binary the child-mode tests run, built once.
var (
	binDir   string
	binOnce  sync.Once
	binPath  string
	binError error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hookd-bench-test-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// hookdBinary builds ./cmd/hookd into binDir on first use (tests that need
// no child do not pay for the build) and returns its path.
func hookdBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		binPath = filepath.Join(binDir, "hookd")
		out, err := exec.Command(goTool, "build", "-o", binPath, "github.com/hookd/hookd/cmd/hookd").CombinedOutput()
		if err != nil {
			binError = fmt.Errorf("go build ./cmd/hookd: %v\n%s", err, out)
		}
	})
	if binError != nil {
		t.Fatal(binError)
	}
	return binPath
}

// stores runs fn on SQLite and, when HOOKD_TEST_DATABASE_URL is set, on
// PostgreSQL.
func stores(t *testing.T, fn func(t *testing.T, database string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, "sqlite") })
	t.Run("postgres", func(t *testing.T) {
		url := os.Getenv(postgres.TestDatabaseEnv)
		if url == "" {
			t.Skipf("set %s to run the PostgreSQL variant", postgres.TestDatabaseEnv)
		}
		fn(t, url)
	})
}

// tinyOptions runs every scenario at sizes that finish in seconds, with
// hookd as a child process of the freshly built binary.
func tinyOptions(t *testing.T, database string) Options {
	return Options{
		Database: database, HookdBin: hookdBinary(t), Events: 400, Rate: 200, Duration: time.Second, Webhooks: 20,
		IsolationEvents: 100, BacklogEvents: 2000, LogDeliveries: 3000, LogRequests: 5, Batch: 100, Timeout: 60 * time.Second,
		TempDir: t.TempDir(),
	}
}

// tinyDeliveries is what each scenario counts at tinyOptions' sizes.
var tinyDeliveries = map[string]int64{
	ScenarioCeiling: 400, ScenarioThroughput: 400, ScenarioFanout8: 400, ScenarioIngestSingle: 400,
	ScenarioLatency: 200, ScenarioLatencySingle: 200, ScenarioFanout: 20, ScenarioIsolation: 900, ScenarioBacklog: 2000,
	ScenarioLog: 3000, // the size of the log it reads
}

// wantRows is the run order of "all": the ceiling of fanout8 (128 clients)
// comes right before it.
var wantRows = []string{
	ScenarioCeiling, ScenarioThroughput, ScenarioCeiling, ScenarioFanout8, ScenarioIngestSingle, ScenarioLatency,
	ScenarioLatencySingle, ScenarioFanout, ScenarioIsolation, ScenarioBacklog, ScenarioLog,
}

// checkReport checks that every scenario ran and its figures are sane: all
// unique deliveries received (Run fails otherwise), positive rates, ratios
// and CPU figures, no bad signatures, latencies ordered, the receiver's
// protocol and handshakes counted.
func checkReport(t *testing.T, rep Report, child bool) {
	t.Helper()
	var names []string
	for _, r := range rep.Results {
		names = append(names, r.Scenario)
	}
	if strings.Join(names, ",") != strings.Join(wantRows, ",") {
		t.Fatalf("rows %v, want %v", names, wantRows)
	}
	pg := rep.Store == "postgres"
	for _, r := range rep.Results {
		if r.Deliveries != tinyDeliveries[r.Scenario] {
			t.Errorf("%s: %d deliveries, want %d", r.Scenario, r.Deliveries, tinyDeliveries[r.Scenario])
		}
		if r.Scenario == ScenarioLog {
			checkLogRow(t, r, child, pg)
			continue
		}
		if r.Seconds <= 0 || r.PerSecond <= 0 {
			t.Errorf("%s: %.3f s, %.0f/s: want positive", r.Scenario, r.Seconds, r.PerSecond)
		}
		if r.BadSignatures != 0 {
			t.Errorf("%s: %d bad signatures", r.Scenario, r.BadSignatures)
		}
		if r.TLSHandshakes <= 0 || r.HandshakesPer1000 <= 0 {
			t.Errorf("%s: %d TLS handshakes (%.1f per 1,000): the receiver must count them", r.Scenario, r.TLSHandshakes, r.HandshakesPer1000)
		}
		// hookd and the ceiling speak HTTP/1.1 (hookd's delivery transport)
		// even to a receiver that offers HTTP/2.
		if r.HTTP2Requests != 0 || r.HTTP1Requests == 0 {
			t.Errorf("%s: %d HTTP/2 and %d HTTP/1.1 requests, want HTTP/1.1 only", r.Scenario, r.HTTP2Requests, r.HTTP1Requests)
		}
		if r.Scenario == ScenarioCeiling {
			if r.HookdCPU != nil || r.PostgresCPU != nil {
				t.Errorf("ceiling: CPU figures without hookd: %+v %+v", r.HookdCPU, r.PostgresCPU)
			}
			continue
		}
		if child {
			// Scenarios of a few hundred deliveries cost hookd well over
			// one 10 ms tick; the fanout of 20 may not.
			if r.HookdCPU == nil || (r.Deliveries >= 200 && r.HookdCPU.MicrosPerDelivery <= 0) {
				t.Errorf("%s: hookd CPU %+v, want positive", r.Scenario, r.HookdCPU)
			}
			if r.PeakRSSMiB <= 0 {
				t.Errorf("%s: hookd peak RSS %.1f MiB, want > 0", r.Scenario, r.PeakRSSMiB)
			}
		} else if r.HookdCPU != nil {
			t.Errorf("%s: in-process hookd has no CPU of its own, got %+v", r.Scenario, r.HookdCPU)
		}
		if pg {
			if r.PostgresCPU == nil || r.PostgresCPU.Processes == 0 || (r.Deliveries >= 200 && r.PostgresCPU.MicrosPerDelivery <= 0) {
				t.Errorf("%s: PostgreSQL CPU %+v, want positive", r.Scenario, r.PostgresCPU)
			}
			if os.Geteuid() == 0 && r.PostgresHookdBackendsCPU == nil {
				t.Errorf("%s: hookd's PostgreSQL backends not found", r.Scenario)
			}
		} else if r.PostgresCPU != nil {
			t.Errorf("%s: PostgreSQL CPU on SQLite: %+v", r.Scenario, r.PostgresCPU)
		}
		switch r.Scenario {
		case ScenarioThroughput, ScenarioFanout8, ScenarioIngestSingle, ScenarioIsolation:
			if r.Ratio <= 0 {
				t.Errorf("%s: ratio %.3f, want > 0", r.Scenario, r.Ratio)
			}
		case ScenarioLatency, ScenarioLatencySingle:
			for _, l := range []Latency{r.Latency, r.LatencyFromCall, r.IngestLatency} {
				if !(l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.Max) || l.Max <= 0 {
					t.Errorf("%s: percentiles out of order or empty: %+v", r.Scenario, l)
				}
			}
			// From the call's start includes the call, so it is never shorter.
			if r.LatencyFromCall.Max < r.Latency.Max || r.LatencyFromCall.P50 < r.Latency.P50 {
				t.Errorf("%s: from call %+v shorter than from answer %+v", r.Scenario, r.LatencyFromCall, r.Latency)
			}
		}
	}
	clients := map[string]int{}
	for _, r := range rep.Results {
		if r.Scenario != ScenarioCeiling {
			clients[r.Scenario] = r.Clients
		}
	}
	if clients[ScenarioThroughput] != 16 || clients[ScenarioIngestSingle] != 16 || clients[ScenarioFanout8] != 128 {
		t.Errorf("ratios taken to ceilings of %v clients, want 16, 16 and 128", clients)
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

// checkLogRow checks the log scenario's row: every kind of page read
// LogRequests times (each answer was checked by the scenario), a verdict on
// the target, and no traffic at the receiver (hookd had nothing to send).
func checkLogRow(t *testing.T, r Result, child, pg bool) {
	t.Helper()
	if r.Seconds <= 0 || r.PerSecond != 0 || r.TargetMet == nil {
		t.Errorf("log: %.3f s, %.0f/s, target %v: want a duration, no rate, a verdict", r.Seconds, r.PerSecond, r.TargetMet)
	}
	if r.TLSHandshakes != 0 || r.HTTP1Requests+r.HTTP2Requests != 0 {
		t.Errorf("log: the receiver saw %d handshakes and %d requests; hookd must send nothing", r.TLSHandshakes, r.HTTP1Requests+r.HTTP2Requests)
	}
	kinds := map[string]bool{}
	for _, q := range r.LogQueries {
		kinds[q.Kind] = true
		if q.Requests != 5 || q.Latency.Max <= 0 || q.Latency.P50 > q.Latency.P99 {
			t.Errorf("log: %s: %d requests, latency %+v", q.Kind, q.Requests, q.Latency)
		}
	}
	// 3,000 deliveries: 150 pages in all, 2707 succeeded (136 pages), 143
	// failed (8), 120 pending (6), 30 canceled (2).
	for _, k := range []string{"all p1", "all p150", "succeeded p136", "failed p8", "pending p6", "canceled p2", "task"} {
		if !kinds[k] {
			t.Errorf("log: no %q among %v", k, kinds)
		}
	}
	if child && (r.HookdCPU == nil || r.PeakRSSMiB <= 0) {
		t.Errorf("log: hookd CPU %+v, RSS %.1f MiB", r.HookdCPU, r.PeakRSSMiB)
	}
	if pg && (r.PostgresCPU == nil || r.PostgresCPU.Processes == 0) {
		t.Errorf("log: PostgreSQL CPU %+v", r.PostgresCPU)
	}
	if vacuumed := strings.Contains(r.Detail, "then VACUUM (ANALYZE)"); vacuumed != pg {
		t.Errorf("log on %s: detail %q", map[bool]string{true: "PostgreSQL", false: "SQLite"}[pg], r.Detail)
	}
}

// --log-no-vacuum reads the log as written on PostgreSQL, and says so.
func TestLogWithoutVacuum(t *testing.T) {
	url := os.Getenv(postgres.TestDatabaseEnv)
	if url == "" {
		t.Skipf("set %s to run it", postgres.TestDatabaseEnv)
	}
	opts := tinyOptions(t, url)
	opts.Scenarios, opts.LogDeliveries, opts.LogRequests, opts.LogNoVacuum = []string{ScenarioLog}, 500, 2, true
	rep, err := Run(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 1 || !strings.Contains(rep.Results[0].Detail, "not vacuumed") || !rep.Settings.LogNoVacuum {
		t.Errorf("results %+v", rep.Results)
	}
}

// Every scenario, hookd as a child process (the default mode).
func TestAllScenariosChild(t *testing.T) {
	stores(t, func(t *testing.T, database string) {
		var table bytes.Buffer
		opts := tinyOptions(t, database)
		opts.Table = &table
		rep, err := Run(t.Context(), opts)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Settings.Mode != "child" || rep.Settings.HookdBin != opts.HookdBin {
			t.Errorf("settings %+v", rep.Settings)
		}
		checkReport(t, rep, true)
		// The streamed table has every row and the notes.
		if n := strings.Count(table.String(), "\nceiling "); n != 2 {
			t.Errorf("streamed table has %d ceiling rows, want 2:\n%s", n, table.String())
		}
		if !strings.Contains(table.String(), "HOOKD µs/del: utime+stime") {
			t.Errorf("streamed table lacks its notes:\n%s", table.String())
		}
	})
}

// The old mode: hookd through app.Serve in this process.
func TestAllScenariosInProcess(t *testing.T) {
	stores(t, func(t *testing.T, database string) {
		opts := tinyOptions(t, database)
		opts.HookdBin, opts.InProcess = "", true
		rep, err := Run(t.Context(), opts)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Settings.Mode != "in-process" {
			t.Errorf("mode %q", rep.Settings.Mode)
		}
		checkReport(t, rep, false)
		backlog := rep.Results[slices.IndexFunc(rep.Results, func(r Result) bool { return r.Scenario == ScenarioBacklog })]
		if _, err := os.Stat("/proc/self/status"); err == nil && backlog.PeakRSSMiB <= 0 {
			t.Errorf("backlog: peak RSS %.1f MiB, want > 0", backlog.PeakRSSMiB)
		}
	})
}

// Against an HTTP/1.1-only receiver, hookd and the ceiling speak HTTP/1.1,
// and the handshakes show how many connections they needed.
func TestReceiverHTTP11(t *testing.T) {
	stores(t, func(t *testing.T, database string) {
		opts := tinyOptions(t, database)
		opts.ReceiverHTTP = ReceiverHTTP11
		opts.Scenarios = []string{ScenarioThroughput, ScenarioFanout8}
		rep, err := Run(t.Context(), opts)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Results) != 4 { // ceiling/16, throughput, ceiling/128, fanout8
			t.Fatalf("%d results, want 4", len(rep.Results))
		}
		for _, r := range rep.Results {
			if r.HTTP2Requests != 0 || r.HTTP1Requests < r.Deliveries {
				t.Errorf("%s: %d HTTP/2 and %d HTTP/1.1 requests for %d deliveries, want HTTP/1.1 only",
					r.Scenario, r.HTTP2Requests, r.HTTP1Requests, r.Deliveries)
			}
			if r.TLSHandshakes <= 0 {
				t.Errorf("%s: no TLS handshakes counted", r.Scenario)
			}
		}
		// The ceiling keeps one connection per client: warm-up and run
		// share them (a connection lost on the way may be replaced, no more).
		if c := rep.Results[0]; c.TLSHandshakes > int64(c.Clients)+2 {
			t.Errorf("ceiling with %d clients made %d handshakes", c.Clients, c.TLSHandshakes)
		}
	})
}

// A hookd binary that cannot bootstrap its store fails the run with the
// command and its message, instead of hanging.
func TestChildBinaryFailuresAreReported(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-hookd")
	for bin, want := range map[string]string{missing: missing + " is not an executable file", "/bin/false": "/bin/false team create"} {
		opts := Options{HookdBin: bin, Scenarios: []string{ScenarioFanout}, Webhooks: 1, Timeout: 30 * time.Second, TempDir: t.TempDir()}
		_, err := Run(t.Context(), opts)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v, want %q in it", bin, err, want)
		}
	}
}

// A hookd that dies during a scenario ends the scenario at once with the
// reason, long before the scenario's deadline.
func TestChildExitDuringScenarioEndsIt(t *testing.T) {
	real := hookdBinary(t)
	wrapper := filepath.Join(t.TempDir(), "dying-hookd")
	script := "#!/bin/sh\nif [ \"$1\" = serve ]; then\n  \"" + real + "\" \"$@\" &\n  pid=$!\n  sleep 3\n  kill -9 $pid\n  exit 3\nfi\nexec \"" + real + "\" \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	opts := Options{HookdBin: wrapper, Scenarios: []string{ScenarioLatencySingle}, Rate: 50, Duration: 30 * time.Second,
		Timeout: 60 * time.Second, TempDir: t.TempDir()}
	start := time.Now()
	_, err := Run(t.Context(), opts)
	if err == nil || !strings.Contains(err.Error(), "hookd exited during the scenario") {
		t.Fatalf("err %v, want hookd's exit named", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("the run took %s after hookd died", d)
	}
}

// A child gets no HOOKD_* variable: a deployment's HOOKD_DATABASE must not
// point the bench's hookd at a real store.
func TestChildEnvDropsHookdVariables(t *testing.T) {
	t.Setenv("HOOKD_DATABASE", "postgres://production/db")
	t.Setenv("HOOKD_BENCH_UNRELATED_KEEP", "x") // also HOOKD_: dropped too
	t.Setenv("NOT_HOOKD_VAR", "kept")
	env := strings.Join(childEnv(), "\n")
	if strings.Contains(env, "HOOKD_DATABASE") || strings.Contains(env, "HOOKD_BENCH_UNRELATED_KEEP") {
		t.Errorf("HOOKD_ variables reach the child")
	}
	if !strings.Contains(env, "NOT_HOOKD_VAR=kept") {
		t.Errorf("other variables must reach the child")
	}
}

func TestOptionsRefuseContradictions(t *testing.T) {
	for name, o := range map[string]Options{
		"bad receiver version":   {ReceiverHTTP: "3"},
		"binary and in-process":  {HookdBin: "/bin/true", InProcess: true},
		"negative events":        {Events: -1},
		"unknown database":       {Database: "mysql://x"},
		"batch beyond the limit": {Batch: maxIngestBatch + 1},
		"log too small":          {LogDeliveries: minLogDeliveries - 1},
		"negative log requests":  {LogRequests: -1},
	} {
		if err := o.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	o := Options{PprofDir: t.TempDir()}
	if err := o.fill(); err != nil || o.InProcess {
		t.Errorf("--pprof profiles the child (--cpu-profile): %v %+v", err, o)
	}
	o = Options{}
	if err := o.fill(); err != nil || o.HookdBin == "" || o.InProcess || o.ReceiverHTTP != ReceiverHTTP2 {
		t.Errorf("defaults: child mode with this executable and an HTTP/2 receiver, got %v %+v", err, o)
	}
}

func TestParseScenarios(t *testing.T) {
	got, err := ParseScenarios("backlog, ceiling,fanout8")
	if err != nil || strings.Join(got, ",") != "ceiling,fanout8,backlog" {
		t.Errorf("got %v, %v", got, err)
	}
	if all, _ := ParseScenarios("all"); len(all) != len(Scenarios) {
		t.Errorf("all = %v", all)
	}
	if _, err := ParseScenarios("nope"); err == nil {
		t.Error("unknown scenario accepted")
	}
}

func TestCeilingClients(t *testing.T) {
	for _, c := range []struct {
		scenario            string
		perWebhook, workers int
		want                int
	}{
		{ScenarioCeiling, 16, 256, 16},
		{ScenarioThroughput, 16, 256, 16},
		{ScenarioIngestSingle, 16, 256, 16},
		{ScenarioFanout8, 16, 256, 128},
		{ScenarioFanout8, 64, 256, 256}, // capped at the workers
		{ScenarioThroughput, 300, 256, 256},
		{ScenarioLatency, 16, 256, 0},
		{ScenarioBacklog, 16, 256, 0},
	} {
		if got := ceilingClients(c.scenario, c.perWebhook, c.workers); got != c.want {
			t.Errorf("ceilingClients(%s, %d, %d) = %d, want %d", c.scenario, c.perWebhook, c.workers, got, c.want)
		}
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
