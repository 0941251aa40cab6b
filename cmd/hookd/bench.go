package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	benchrun "github.com/hookd/hookd/internal/bench"
)

// bench runs `hookd bench`: hookd, an HTTPS receiver and a load generator in
// this one process, on fresh temporary stores (internal/bench does the work).
// Like the demo it reads no HOOKD_* variables: a benchmark must never touch a
// real deployment's store.
func bench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hookd bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: hookd bench [--scenario all|ceiling,throughput,latency,fanout,isolation,backlog] [--database sqlite|postgres://…] [flags]")
		fmt.Fprintln(stderr, "\nRuns hookd, a local HTTPS receiver that verifies every signature and a load generator in this")
		fmt.Fprintln(stderr, "process, over loopback only, and prints the figures (see BENCHMARKS.md). Progress goes to stderr.")
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	var o benchrun.Options
	scenarios := fs.String("scenario", "all", "comma-separated scenarios: all, "+fmt.Sprint(benchrun.Scenarios))
	fs.StringVar(&o.Database, "database", "sqlite", "sqlite, or a postgres:// URL (each hookd of the run gets a fresh schema, dropped afterwards)")
	fs.IntVar(&o.Events, "events", benchrun.DefaultEvents, "throughput and ceiling: events (one delivery each)")
	fs.Float64Var(&o.Rate, "rate", benchrun.DefaultRate, "latency: events per second")
	fs.DurationVar(&o.Duration, "duration", benchrun.DefaultDuration, "latency: how long to send")
	fs.IntVar(&o.Webhooks, "webhooks", benchrun.DefaultWebhooks, "fanout: webhooks the one event goes to")
	fs.IntVar(&o.IsolationEvents, "isolation-events", benchrun.DefaultIsolationEvents, "isolation: events per run (each to 10 webhooks)")
	fs.IntVar(&o.BacklogEvents, "backlog-events", benchrun.DefaultBacklogEvents, "backlog: deliveries queued before the drain")
	fs.IntVar(&o.Concurrency, "concurrency", benchrun.DefaultConcurrency, "hookd's --webhook-concurrency and the ceiling's client count")
	fs.IntVar(&o.Batch, "batch", benchrun.DefaultBatch, "events per ingest request (at most 1000)")
	fs.IntVar(&o.IngestConcurrency, "ingest-concurrency", benchrun.DefaultIngestConc, "ingest requests in flight")
	fs.DurationVar(&o.Timeout, "timeout", benchrun.DefaultTimeout, "bound on each scenario")
	fs.StringVar(&o.PprofDir, "pprof", "", "directory for a CPU and a heap profile per scenario")
	asJSON := fs.Bool("json", false, "print the report as JSON instead of a table")
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
	o.Progress, o.Log = stderr, stderr
	if f, ok := stderr.(*os.File); ok {
		o.Progress = f // lets the progress line rewrite itself on a terminal
	}
	rep, runErr := benchrun.Run(ctx, o)
	var outErr error
	if len(rep.Results) > 0 || runErr == nil {
		if *asJSON {
			outErr = benchrun.WriteJSON(stdout, rep)
		} else {
			outErr = benchrun.WriteTable(stdout, rep)
		}
	}
	if runErr != nil {
		return fmt.Errorf("bench: %w", runErr)
	}
	return outErr
}
