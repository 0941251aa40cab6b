package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	demorun "github.com/hookd/hookd/internal/demo"
)

// demo runs `hookd demo`: the whole loop on a temporary store with a local
// HTTPS receiver (internal/demo does the work). It reads no HOOKD_*
// variables: the demo must never touch a real deployment's store.
func demo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hookd demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: hookd demo [--keep] [--timeout DURATION]")
		fmt.Fprintln(stderr, "\nStarts hookd on a temporary embedded store with a local HTTPS receiver, creates a team and")
		fmt.Fprintln(stderr, "webhooks, ingests task events and prints every delivery and the delivery log.")
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	keep := fs.Bool("keep", false, "keep the temporary directory (store, keys, receiver CA) and print its path")
	timeout := fs.Duration("timeout", demorun.DefaultTimeout, "bound on the whole demo")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if *timeout <= 0 {
		return fmt.Errorf("%w: --timeout must be positive", errUsage)
	}
	return demorun.Run(ctx, demorun.Options{Stdout: stdout, Stderr: stderr, Keep: *keep, Timeout: *timeout})
}
