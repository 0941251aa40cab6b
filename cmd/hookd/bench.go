package main

import (
	"context"
	"flag"
	"fmt"
	"io"
)

// bench runs `hookd bench` (placeholder while the harness is written).
func bench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hookd bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return fmt.Errorf("bench: not ready yet")
}
