package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Scenario names, in the order "all" runs them.
const (
	ScenarioCeiling       = "ceiling"
	ScenarioThroughput    = "throughput"
	ScenarioFanout8       = "fanout8"
	ScenarioIngestSingle  = "ingest-single"
	ScenarioLatency       = "latency"
	ScenarioLatencySingle = "latency-single"
	ScenarioFanout        = "fanout"
	ScenarioIsolation     = "isolation"
	ScenarioBacklog       = "backlog"
	ScenarioLog           = "log"
)

// Scenarios lists every scenario in run order.
var Scenarios = []string{
	ScenarioCeiling, ScenarioThroughput, ScenarioFanout8, ScenarioIngestSingle, ScenarioLatency,
	ScenarioLatencySingle, ScenarioFanout, ScenarioIsolation, ScenarioBacklog, ScenarioLog,
}

// Options configures Run. Zero values take the documented defaults.
type Options struct {
	Scenarios []string // names from Scenarios; empty means all
	// Database is "" (or "sqlite") for the embedded store, or a
	// postgres:// URL: every hookd of the run gets a fresh schema there,
	// dropped afterwards.
	Database string
	// InProcess runs hookd through app.Serve inside this process instead
	// of as a `hookd serve` child process started from HookdBin (hookd
	// then shares the process's CPU figures with the receiver and the load).
	InProcess bool
	// HookdBin is the hookd binary the child mode runs; "" means this
	// process's own executable.
	HookdBin string
	// ReceiverHTTP is ReceiverHTTP2 (default: HTTP/2 offered, HTTP/1.1
	// accepted) or ReceiverHTTP11 (HTTP/1.1 only).
	ReceiverHTTP    string
	Events          int           // throughput, fanout8, ingest-single and ceiling deliveries (default 100,000)
	Rate            float64       // latency, latency-single: events per second (default 1,000)
	Duration        time.Duration // latency, latency-single: how long (default 30s)
	Webhooks        int           // fanout: webhooks (default 1,000)
	IsolationEvents int           // isolation: events per run, each to 10 webhooks (default 10,000)
	BacklogEvents   int           // backlog: deliveries queued (default 1,000,000)
	LogDeliveries   int           // log: deliveries in the webhook's log (default 1,000,000; at least 100)
	LogRequests     int           // log: requests per kind of page (default 200)
	// LogNoVacuum: on PostgreSQL, read the log as written, without the
	// VACUUM (ANALYZE) that stands in for autovacuum after writing it.
	LogNoVacuum       bool
	Concurrency       int           // attempts in flight per webhook, and the ceiling's clients (default 16)
	Batch             int           // events per ingest request (default 500)
	IngestConcurrency int           // ingest requests in flight (default 4)
	Timeout           time.Duration // bound on each scenario (default 15m)
	// PprofDir, when set: a CPU profile of hookd per scenario (the child is
	// started with --cpu-profile, which needs a hookd that has the flag) and,
	// in-process, a CPU and a heap profile of this whole process.
	PprofDir string
	Progress io.Writer // progress lines; nil prints none
	Log      io.Writer // hookd's and the receiver's warnings; nil discards them
	// Table, when set, gets the table's header when the run starts, each
	// scenario's row as soon as the scenario ends, and the notes at the end.
	Table   io.Writer
	TempDir string // where stores live; "" means os.TempDir()
}

// Defaults of Options.
const (
	DefaultEvents          = 100_000
	DefaultRate            = 1000
	DefaultDuration        = 30 * time.Second
	DefaultWebhooks        = 1000
	DefaultIsolationEvents = 10_000
	DefaultBacklogEvents   = 1_000_000
	DefaultLogDeliveries   = 1_000_000
	DefaultLogRequests     = 200
	DefaultConcurrency     = 16
	DefaultBatch           = 500
	DefaultIngestConc      = 4
	DefaultTimeout         = 15 * time.Minute
	DefaultReceiverHTTP    = ReceiverHTTP2
)

// isolationWebhooks is the isolation scenario's team: one bad, nine good.
const isolationWebhooks = 10

// fanout8Webhooks is the fanout8 scenario's team; every event goes to all.
const fanout8Webhooks = 8

// singleIngestClients is how many clients send single-event ingest
// requests in ingest-single (closed loop) and, at most, in latency-single.
const singleIngestClients = 32

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
	def(&o.LogDeliveries, DefaultLogDeliveries)
	def(&o.LogRequests, DefaultLogRequests)
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
	if o.ReceiverHTTP == "" {
		o.ReceiverHTTP = DefaultReceiverHTTP
	}
	switch {
	case o.Events < 0, o.Webhooks < 0, o.IsolationEvents < 0, o.BacklogEvents < 0, o.Concurrency < 0,
		o.Batch < 0, o.IngestConcurrency < 0, o.Rate < 0, o.Duration < 0, o.Timeout < 0, o.LogRequests < 0:
		return errors.New("bench: sizes, rates and durations must not be negative")
	case o.LogDeliveries < minLogDeliveries:
		return fmt.Errorf("bench: the log scenario needs at least %d deliveries", minLogDeliveries)
	case o.Batch > maxIngestBatch:
		return fmt.Errorf("bench: at most %d events per ingest batch", maxIngestBatch)
	case o.ReceiverHTTP != ReceiverHTTP2 && o.ReceiverHTTP != ReceiverHTTP11:
		return fmt.Errorf("bench: receiver HTTP version %q (want %s or %s)", o.ReceiverHTTP, ReceiverHTTP11, ReceiverHTTP2)
	case o.InProcess && o.HookdBin != "":
		return errors.New("bench: a hookd binary runs as a child process; it cannot be combined with in-process mode")
	}
	if !o.InProcess && o.HookdBin == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("bench: finding this executable to run as hookd: %w", err)
		}
		o.HookdBin = exe
	}
	if !o.InProcess {
		if st, err := os.Stat(o.HookdBin); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			return fmt.Errorf("bench: hookd binary %s is not an executable file", o.HookdBin)
		}
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
	o.Scenarios = sel
	return nil
}

// Validate reports what Run would refuse in o (sizes, versions, modes).
func (o Options) Validate() error { return o.fill() }

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

// ceilingClients is the client count of the ceiling a scenario is compared
// with: the attempts hookd may have in flight in it, which is the
// per-webhook concurrency times the webhooks the load spreads over, capped
// at the workers of the whole process. 0: the scenario has no ratio to the
// ceiling.
func ceilingClients(scenario string, perWebhook, workers int) int {
	switch scenario {
	case ScenarioCeiling, ScenarioThroughput, ScenarioIngestSingle:
		return min(perWebhook, workers)
	case ScenarioFanout8:
		return min(fanout8Webhooks*perWebhook, workers)
	}
	return 0
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
	Mode              string  `json:"mode"`                // "child" or "in-process"
	HookdBin          string  `json:"hookd_bin,omitempty"` // child mode
	ReceiverHTTP      string  `json:"receiver_http"`
	Events            int     `json:"events"`
	Rate              float64 `json:"rate_per_second"`
	DurationSeconds   float64 `json:"duration_seconds"`
	Webhooks          int     `json:"fanout_webhooks"`
	IsolationEvents   int     `json:"isolation_events"`
	BacklogEvents     int     `json:"backlog_events"`
	LogDeliveries     int     `json:"log_deliveries"`
	LogRequests       int     `json:"log_requests_per_kind"`
	LogNoVacuum       bool    `json:"log_no_vacuum,omitempty"`
	Concurrency       int     `json:"per_webhook_concurrency"`
	Workers           int     `json:"workers"`
	Batch             int     `json:"ingest_batch"`
	IngestConcurrency int     `json:"ingest_concurrency"`
	SingleClients     int     `json:"single_ingest_clients"`
}

// Result is one scenario's figures. Counts come from the receiver.
type Result struct {
	Scenario   string  `json:"scenario"`
	Deliveries int64   `json:"deliveries"` // unique deliveries that count for the figure
	Seconds    float64 `json:"seconds"`    // the measured interval
	PerSecond  float64 `json:"per_second"` // Deliveries / Seconds
	Ratio      float64 `json:"ratio"`      // to the ceiling (throughput, fanout8, ingest-single) or to the all-healthy run (isolation)
	// Clients is the ceiling's client count: of this run for a ceiling,
	// of the ceiling the ratio is taken to otherwise.
	Clients      int     `json:"ceiling_clients,omitempty"`
	IngestPerSec float64 `json:"ingest_per_second,omitempty"`
	// Latency is per event from the arrival of the ingest answer that
	// accepted it to its first receipt; LatencyFromCall from the start of
	// that ingest call; IngestLatency is the ingest call itself.
	Latency         Latency `json:"latency"`
	LatencyFromCall Latency `json:"latency_from_call"`
	IngestLatency   Latency `json:"ingest_latency"`
	// CPU of the measured phase: the hookd child (absent in-process), every
	// PostgreSQL process, and of those the backends of hookd's connections.
	HookdCPU                 *CPUUse `json:"hookd_cpu,omitempty"`
	PostgresCPU              *CPUUse `json:"postgres_cpu,omitempty"`
	PostgresHookdBackendsCPU *CPUUse `json:"postgres_hookd_backends_cpu,omitempty"`
	PeakRSSMiB               float64 `json:"peak_rss_mib,omitempty"` // the hookd child's VmHWM over the phase (in-process: backlog only, the whole process)
	// What the receiver saw during the whole scenario.
	TLSHandshakes     int64   `json:"tls_handshakes"`
	HandshakesPer1000 float64 `json:"tls_handshakes_per_1000_deliveries"`
	HTTP1Requests     int64   `json:"http1_requests"`
	HTTP2Requests     int64   `json:"http2_requests"`
	Duplicates        int64   `json:"duplicates"`
	BadSignatures     int64   `json:"bad_signatures"`
	Target            string  `json:"target,omitempty"`
	TargetMet         *bool   `json:"target_met,omitempty"`
	Detail            string  `json:"detail,omitempty"`
	// LogQueries: the log scenario's figures per kind of page.
	LogQueries []LogQuery `json:"log_queries,omitempty"`
}

// environment is what every scenario of a run shares.
type environment struct {
	opts        Options
	dir         string
	rcv         *receiver
	postgresURL string
	pgPort      int // of postgresURL, to tell hookd's backends apart
	workers     int // hookd's --workers
	log         io.Writer
	ceilings    map[int]float64 // deliveries/s of this run's ceiling, by client count
	// profileBase names the current scenario's hookd CPU profile (child
	// mode with PprofDir); "" when none is taken.
	profileBase string
}

// profilePath is the file-name stem of a scenario's profiles.
func (env *environment) profilePath(name string, clients int) string {
	store := "sqlite"
	if env.postgresURL != "" {
		store = "postgres"
	}
	if clients > 0 {
		name += "-" + strconv.Itoa(clients)
	}
	return filepath.Join(env.opts.PprofDir, name+"-"+store)
}

// Run runs the selected scenarios in order and returns their figures. The
// first scenario that fails stops the run; the report holds what finished.
// A scenario compared with the ceiling brings the ceiling it needs, run just
// before it unless this run measured it already.
func Run(ctx context.Context, opts Options) (rep Report, err error) {
	if err := opts.fill(); err != nil {
		return Report{}, err
	}
	workers := defaultWorkers()
	rep = Report{Machine: describeMachine(), Store: "sqlite", Settings: Settings{
		Mode: "child", HookdBin: opts.HookdBin, ReceiverHTTP: opts.ReceiverHTTP,
		Events: opts.Events, Rate: opts.Rate, DurationSeconds: opts.Duration.Seconds(), Webhooks: opts.Webhooks,
		IsolationEvents: opts.IsolationEvents, BacklogEvents: opts.BacklogEvents, LogDeliveries: opts.LogDeliveries,
		LogRequests: opts.LogRequests, LogNoVacuum: opts.LogNoVacuum, Concurrency: opts.Concurrency,
		Workers: workers, Batch: opts.Batch, IngestConcurrency: opts.IngestConcurrency, SingleClients: singleIngestClients,
	}}
	if opts.InProcess {
		rep.Settings.Mode = "in-process"
	}
	if opts.Database != "" {
		rep.Store = "postgres"
	}
	var table *TableWriter
	if opts.Table != nil {
		table = NewTableWriter(opts.Table, rep)
		defer func() {
			if terr := table.Close(); err == nil {
				err = terr
			}
		}()
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
	rcv, err := startReceiver(dir, opts.ReceiverHTTP, logw)
	if err != nil {
		return rep, err
	}
	defer rcv.close()
	env := &environment{opts: opts, dir: dir, rcv: rcv, postgresURL: opts.Database, pgPort: postgresPort(opts.Database),
		workers: workers, log: logw, ceilings: map[int]float64{}}

	run := func(name string, clients int) error {
		res, err := env.runOne(ctx, name, clients)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		rep.Results = append(rep.Results, res)
		if table != nil {
			return table.Row(res)
		}
		return nil
	}
	for _, name := range opts.Scenarios {
		if c := ceilingClients(name, opts.Concurrency, workers); c > 0 {
			if _, ok := env.ceilings[c]; !ok {
				if err := run(ScenarioCeiling, c); err != nil {
					return rep, err
				}
			}
		}
		if name == ScenarioCeiling {
			continue // measured just above, or already for another scenario
		}
		if err := run(name, 0); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// postgresPort is the TCP port of a postgres:// URL (5432 when absent).
func postgresPort(database string) int {
	u, err := url.Parse(database)
	if err != nil || database == "" {
		return 0
	}
	if p, err := strconv.Atoi(u.Port()); err == nil {
		return p
	}
	return 5432
}

// runOne runs one scenario under its deadline and checks the receiver's
// books: a bad signature or a malformed request fails the scenario. clients
// is the ceiling's client count (for the ceiling only).
func (env *environment) runOne(ctx context.Context, name string, clients int) (Result, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, env.opts.Timeout,
		fmt.Errorf("scenario did not finish within %s", env.opts.Timeout))
	defer cancel()
	env.rcv.forget()
	runtime.GC()
	stopProfile, err := env.profile(name, clients)
	if err != nil {
		return Result{}, err
	}
	before := env.rcv.counters()
	var res Result
	switch name {
	case ScenarioCeiling:
		res, err = env.runCeiling(ctx, clients)
		env.ceilings[clients] = res.PerSecond
	case ScenarioThroughput:
		res, err = env.runThroughput(ctx)
	case ScenarioFanout8:
		res, err = env.runFanout8(ctx)
	case ScenarioIngestSingle:
		res, err = env.runIngestSingle(ctx)
	case ScenarioLatency:
		res, err = env.runLatency(ctx)
	case ScenarioLatencySingle:
		res, err = env.runLatencySingle(ctx)
	case ScenarioFanout:
		res, err = env.runFanout(ctx)
	case ScenarioIsolation:
		res, err = env.runIsolation(ctx)
	case ScenarioBacklog:
		res, err = env.runBacklog(ctx)
	case ScenarioLog:
		res, err = env.runLog(ctx)
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
	res.TLSHandshakes, res.HTTP1Requests, res.HTTP2Requests = seen.Handshakes, seen.HTTP1, seen.HTTP2
	if seen.Unique > 0 {
		res.HandshakesPer1000 = float64(seen.Handshakes) * 1000 / float64(seen.Unique)
	}
	if seen.BadSignatures > 0 || seen.Malformed > 0 {
		return res, fmt.Errorf("the receiver saw %d bad signatures and %d malformed requests", seen.BadSignatures, seen.Malformed)
	}
	if t, ok := targetFor(name, env.postgresURL != ""); ok {
		judge(&res, t, env.postgresURL != "")
	}
	return res, nil
}

// ratioTo sets res's ratio to the ceiling with clients clients.
func (env *environment) ratioTo(res *Result, clients int) {
	if c := env.ceilings[clients]; c > 0 {
		res.Ratio, res.Clients = res.PerSecond/c, clients
	}
}

// profile starts a CPU profile of the scenario when PprofDir is set; the
// returned function stops it and writes a heap profile beside it.
func (env *environment) profile(name string, clients int) (func() error, error) {
	if env.opts.PprofDir == "" {
		return func() error { return nil }, nil
	}
	if !env.opts.InProcess {
		env.profileBase = env.profilePath(name, clients)
		return func() error { env.profileBase = ""; return nil }, os.MkdirAll(env.opts.PprofDir, 0o755)
	}
	base := env.profilePath(name, clients)
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
