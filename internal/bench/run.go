package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"
)

// Scenario names, in the order "all" runs them.
const (
	ScenarioCeiling    = "ceiling"
	ScenarioThroughput = "throughput"
	ScenarioLatency    = "latency"
	ScenarioFanout     = "fanout"
	ScenarioIsolation  = "isolation"
	ScenarioBacklog    = "backlog"
)

// Scenarios lists every scenario in run order.
var Scenarios = []string{ScenarioCeiling, ScenarioThroughput, ScenarioLatency, ScenarioFanout, ScenarioIsolation, ScenarioBacklog}

// Options configures Run. Zero values take the documented defaults.
type Options struct {
	Scenarios []string // names from Scenarios; empty means all
	// Database is "" (or "sqlite") for the embedded store, or a
	// postgres:// URL: every hookd of the run gets a fresh schema there,
	// dropped afterwards.
	Database          string
	Events            int           // throughput and ceiling events (default 100,000)
	Rate              float64       // latency: events per second (default 1,000)
	Duration          time.Duration // latency: how long (default 30s)
	Webhooks          int           // fanout: webhooks (default 1,000)
	IsolationEvents   int           // isolation: events per run, each to 10 webhooks (default 10,000)
	BacklogEvents     int           // backlog: deliveries queued (default 1,000,000)
	Concurrency       int           // attempts in flight per webhook, and the ceiling's clients (default 16)
	Batch             int           // events per ingest request (default 500)
	IngestConcurrency int           // ingest requests in flight (default 4)
	Timeout           time.Duration // bound on each scenario (default 15m)
	PprofDir          string        // when set: a CPU and a heap profile per scenario
	Progress          io.Writer     // progress lines; nil prints none
	Log               io.Writer     // hookd's and the receiver's warnings; nil discards them
	TempDir           string        // where stores live; "" means os.TempDir()
}

// Defaults of Options.
const (
	DefaultEvents          = 100_000
	DefaultRate            = 1000
	DefaultDuration        = 30 * time.Second
	DefaultWebhooks        = 1000
	DefaultIsolationEvents = 10_000
	DefaultBacklogEvents   = 1_000_000
	DefaultConcurrency     = 16
	DefaultBatch           = 500
	DefaultIngestConc      = 4
	DefaultTimeout         = 15 * time.Minute
)

// isolationWebhooks is the isolation scenario's team: one bad, nine good.
const isolationWebhooks = 10

func (o *Options) fill() error {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.Events, DefaultEvents)
	def(&o.Webhooks, DefaultWebhooks)
	def(&o.IsolationEvents, DefaultIsolationEvents)
	def(&o.BacklogEvents, DefaultBacklogEvents)
	def(&o.Concurrency, DefaultConcurrency)
	def(&o.Batch, DefaultBatch)
	def(&o.IngestConcurrency, DefaultIngestConc)
	if o.Rate == 0 {
		o.Rate = DefaultRate
	}
	if o.Duration == 0 {
		o.Duration = DefaultDuration
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	switch {
	case o.Events < 0, o.Webhooks < 0, o.IsolationEvents < 0, o.BacklogEvents < 0, o.Concurrency < 0,
		o.Batch < 0, o.IngestConcurrency < 0, o.Rate < 0, o.Duration < 0, o.Timeout < 0:
		return errors.New("bench: sizes, rates and durations must not be negative")
	case o.Batch > maxIngestBatch:
		return fmt.Errorf("bench: at most %d events per ingest batch", maxIngestBatch)
	}
	if o.Database == "sqlite" {
		o.Database = ""
	}
	if o.Database != "" && !strings.HasPrefix(o.Database, "postgres://") && !strings.HasPrefix(o.Database, "postgresql://") {
		return errors.New("bench: database must be sqlite or a postgres:// URL")
	}
	sel, err := ParseScenarios(strings.Join(o.Scenarios, ","))
	if err != nil {
		return err
	}
	// A ratio to the ceiling needs the ceiling of the same run.
	if slices.Contains(sel, ScenarioThroughput) && !slices.Contains(sel, ScenarioCeiling) {
		sel = append([]string{ScenarioCeiling}, sel...)
	}
	o.Scenarios = sel
	return nil
}

// ParseScenarios reads a comma-separated list ("all" or empty: every one)
// into run order.
func ParseScenarios(list string) ([]string, error) {
	want := map[string]bool{}
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		switch {
		case name == "" || name == "all":
			for _, s := range Scenarios {
				want[s] = true
			}
		case slices.Contains(Scenarios, name):
			want[name] = true
		default:
			return nil, fmt.Errorf("bench: unknown scenario %q (want all or %s)", name, strings.Join(Scenarios, ", "))
		}
	}
	var out []string
	for _, s := range Scenarios {
		if want[s] {
			out = append(out, s)
		}
	}
	return out, nil
}

// Report is a whole run.
type Report struct {
	Machine  Machine  `json:"machine"`
	Store    string   `json:"store"`
	Settings Settings `json:"settings"`
	Results  []Result `json:"results"`
}

// Settings echoes the sizes a run used.
type Settings struct {
	Events            int     `json:"events"`
	Rate              float64 `json:"rate_per_second"`
	DurationSeconds   float64 `json:"duration_seconds"`
	Webhooks          int     `json:"fanout_webhooks"`
	IsolationEvents   int     `json:"isolation_events"`
	BacklogEvents     int     `json:"backlog_events"`
	Concurrency       int     `json:"per_webhook_concurrency"`
	Batch             int     `json:"ingest_batch"`
	IngestConcurrency int     `json:"ingest_concurrency"`
}

// Result is one scenario's figures. Counts come from the receiver.
type Result struct {
	Scenario      string  `json:"scenario"`
	Deliveries    int64   `json:"deliveries"` // unique deliveries that count for the figure
	Seconds       float64 `json:"seconds"`    // the measured interval
	PerSecond     float64 `json:"per_second"` // Deliveries / Seconds
	Ratio         float64 `json:"ratio"`      // to the ceiling (throughput) or to the all-healthy run (isolation)
	IngestPerSec  float64 `json:"ingest_per_second,omitempty"`
	Latency       Latency `json:"latency"`        // latency: ingest answer -> receipt
	IngestLatency Latency `json:"ingest_latency"` // latency: ingest request -> answer
	PeakRSSMiB    float64 `json:"peak_rss_mib,omitempty"`
	Duplicates    int64   `json:"duplicates"`
	BadSignatures int64   `json:"bad_signatures"`
	Target        string  `json:"target,omitempty"`
	TargetMet     *bool   `json:"target_met,omitempty"`
	Detail        string  `json:"detail,omitempty"`
}

// environment is what every scenario of a run shares.
type environment struct {
	opts        Options
	dir         string
	rcv         *receiver
	postgresURL string
	log         io.Writer
	ceiling     float64 // deliveries/s of this run's ceiling scenario
}

// Run runs the selected scenarios in order and returns their figures. The
// first scenario that fails stops the run; the report holds what finished.
func Run(ctx context.Context, opts Options) (Report, error) {
	if err := opts.fill(); err != nil {
		return Report{}, err
	}
	rep := Report{Machine: describeMachine(), Store: "sqlite", Settings: Settings{
		Events: opts.Events, Rate: opts.Rate, DurationSeconds: opts.Duration.Seconds(), Webhooks: opts.Webhooks,
		IsolationEvents: opts.IsolationEvents, BacklogEvents: opts.BacklogEvents, Concurrency: opts.Concurrency,
		Batch: opts.Batch, IngestConcurrency: opts.IngestConcurrency,
	}}
	if opts.Database != "" {
		rep.Store = "postgres"
	}
	logw := opts.Log
	if logw == nil {
		logw = io.Discard
	}
	dir, err := os.MkdirTemp(opts.TempDir, "hookd-bench-")
	if err != nil {
		return rep, err
	}
	defer os.RemoveAll(dir)
	rcv, err := startReceiver(dir, logw)
	if err != nil {
		return rep, err
	}
	defer rcv.close()
	env := &environment{opts: opts, dir: dir, rcv: rcv, postgresURL: opts.Database, log: logw}

	for _, name := range opts.Scenarios {
		res, err := env.runOne(ctx, name)
		if err != nil {
			return rep, fmt.Errorf("%s: %w", name, err)
		}
		rep.Results = append(rep.Results, res)
	}
	return rep, nil
}

// runOne runs one scenario under its deadline and checks the receiver's
// books: a bad signature or a malformed request fails the scenario.
func (env *environment) runOne(ctx context.Context, name string) (Result, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, env.opts.Timeout,
		fmt.Errorf("scenario did not finish within %s", env.opts.Timeout))
	defer cancel()
	env.rcv.forget()
	runtime.GC()
	stopProfile, err := env.profile(name)
	if err != nil {
		return Result{}, err
	}
	before := env.rcv.counters()
	var res Result
	switch name {
	case ScenarioCeiling:
		res, err = env.runCeiling(ctx)
		env.ceiling = res.PerSecond
	case ScenarioThroughput:
		res, err = env.runThroughput(ctx)
	case ScenarioLatency:
		res, err = env.runLatency(ctx)
	case ScenarioFanout:
		res, err = env.runFanout(ctx)
	case ScenarioIsolation:
		res, err = env.runIsolation(ctx)
	case ScenarioBacklog:
		res, err = env.runBacklog(ctx)
	}
	if perr := stopProfile(); err == nil {
		err = perr
	}
	if err != nil {
		return res, err
	}
	seen := env.rcv.counters().minus(before)
	res.Scenario = name
	res.Duplicates, res.BadSignatures = seen.Duplicates, seen.BadSignatures
	if seen.BadSignatures > 0 || seen.Malformed > 0 {
		return res, fmt.Errorf("the receiver saw %d bad signatures and %d malformed requests", seen.BadSignatures, seen.Malformed)
	}
	return res, nil
}

// profile starts a CPU profile of the scenario when PprofDir is set; the
// returned function stops it and writes a heap profile beside it.
func (env *environment) profile(name string) (func() error, error) {
	if env.opts.PprofDir == "" {
		return func() error { return nil }, nil
	}
	store := "sqlite"
	if env.postgresURL != "" {
		store = "postgres"
	}
	base := filepath.Join(env.opts.PprofDir, name+"-"+store)
	if err := os.MkdirAll(env.opts.PprofDir, 0o755); err != nil {
		return nil, err
	}
	cpu, err := os.Create(base + ".cpu.pprof")
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(cpu); err != nil {
		cpu.Close()
		return nil, err
	}
	return func() error {
		pprof.StopCPUProfile()
		err := cpu.Close()
		heap, herr := os.Create(base + ".heap.pprof")
		if herr != nil {
			return errors.Join(err, herr)
		}
		return errors.Join(err, pprof.WriteHeapProfile(heap), heap.Close())
	}, nil
}

// waitFor polls done until it holds or ctx ends.
func waitFor(ctx context.Context, done func() bool) error {
	ticker := time.NewTicker(2 * time.Millisecond)
	defer ticker.Stop()
	for !done() {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-ticker.C:
		}
	}
	return nil
}
