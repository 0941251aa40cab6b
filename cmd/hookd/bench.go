package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	benchrun "github.com/hookd/hookd/internal/bench"
)

// bench runs `hookd bench`: an HTTPS receiver and a load generator in this
// process, and hookd as a `hookd serve` child process (or, with
// --in-process, in this process), on fresh temporary stores (internal/bench
// does the work). Like the demo it reads no HOOKD_* variables, and it passes
// none to the child: a benchmark must never touch a real deployment's store.
func bench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hookd bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: hookd bench [--scenario all|"+strings.Join(benchrun.Scenarios, ",")+"] [--database sqlite|postgres://…] [flags]")
		fmt.Fprintln(stderr, "\nRuns a local HTTPS receiver that verifies every signature and a load generator in this process,")
		fmt.Fprintln(stderr, "and hookd as a `hookd serve` child process (--hookd-bin, default this executable), over loopback")
		fmt.Fprintln(stderr, "only, and prints each scenario's figures as it ends (see BENCHMARKS.md). Progress goes to stderr.")
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	var o benchrun.Options
	scenarios := fs.String("scenario", "all", "comma-separated scenarios: all, "+fmt.Sprint(benchrun.Scenarios))
	fs.StringVar(&o.Database, "database", "sqlite", "sqlite, or a postgres:// URL (each hookd of the run gets a fresh schema, dropped afterwards)")
	fs.StringVar(&o.HookdBin, "hookd-bin", "", "the hookd binary to run as `hookd serve` (default: this executable)")
	fs.BoolVar(&o.InProcess, "in-process", false, "run hookd inside this process instead of as a child (no hookd CPU figure)")
	fs.StringVar(&o.ReceiverHTTP, "receiver-http", benchrun.DefaultReceiverHTTP, "the receiver's protocols: 2 (HTTP/2 offered, HTTP/1.1 accepted) or 1.1 (HTTP/1.1 only)")
	fs.IntVar(&o.Events, "events", benchrun.DefaultEvents, "ceiling, throughput, ingest-single: events; fanout8: deliveries (events ÷ 8, each to 8 webhooks)")
	fs.Float64Var(&o.Rate, "rate", benchrun.DefaultRate, "latency, latency-single: events per second")
	fs.DurationVar(&o.Duration, "duration", benchrun.DefaultDuration, "latency, latency-single: how long to send")
	fs.IntVar(&o.Webhooks, "webhooks", benchrun.DefaultWebhooks, "fanout: webhooks the one event goes to")
	fs.IntVar(&o.IsolationEvents, "isolation-events", benchrun.DefaultIsolationEvents, "isolation: events per run (each to 10 webhooks)")
	fs.IntVar(&o.BacklogEvents, "backlog-events", benchrun.DefaultBacklogEvents, "backlog: deliveries queued before the drain")
	fs.IntVar(&o.LogDeliveries, "log-deliveries", benchrun.DefaultLogDeliveries, "log: deliveries in the webhook's log (written through the store before hookd starts)")
	fs.IntVar(&o.LogRequests, "log-requests", benchrun.DefaultLogRequests, "log: requests per kind of page")
	fs.BoolVar(&o.LogNoVacuum, "log-no-vacuum", false, "log, PostgreSQL: read the log as written, without the VACUUM (ANALYZE) that stands in for autovacuum")
	fs.IntVar(&o.Concurrency, "concurrency", benchrun.DefaultConcurrency, "hookd's --webhook-concurrency and the ceiling's client count")
	fs.IntVar(&o.Batch, "batch", benchrun.DefaultBatch, "events per ingest request (at most 1000)")
	fs.IntVar(&o.IngestConcurrency, "ingest-concurrency", benchrun.DefaultIngestConc, "ingest requests in flight")
	fs.DurationVar(&o.Timeout, "timeout", benchrun.DefaultTimeout, "bound on each scenario")
	fs.StringVar(&o.PprofDir, "pprof", "", "directory for a CPU profile of hookd per scenario (hookd serve --cpu-profile; in-process: also this process's CPU and heap)")
	asJSON := fs.Bool("json", false, "print the whole report as one JSON document at the end instead of a table")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	list, err := benchrun.ParseScenarios(*scenarios)
	if err != nil {
		return fmt.Errorf("%w: --scenario: %v", errUsage, err)
	}
	o.Scenarios = list
	if err := o.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	o.Progress, o.Log = stderr, stderr
	if f, ok := stderr.(*os.File); ok {
		o.Progress = f // lets the progress line rewrite itself on a terminal
	}
	if !*asJSON {
		o.Table = stdout // a row as soon as each scenario ends
	}
	rep, runErr := benchrun.Run(ctx, o)
	var outErr error
	if *asJSON && (len(rep.Results) > 0 || runErr == nil) {
		outErr = benchrun.WriteJSON(stdout, rep)
	}
	if runErr != nil {
		return fmt.Errorf("bench: %w", runErr)
	}
	return outErr
}
