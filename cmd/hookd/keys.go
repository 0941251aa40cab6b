package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/hookd/hookd/internal/app"
	"github.com/hookd/hookd/internal/config"
)

// keys runs `hookd keys SUBCOMMAND`.
func keys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "rotate-master" {
		return fmt.Errorf("%w: keys needs a subcommand: hookd keys rotate-master", errUsage)
	}
	return rotateMaster(ctx, args[1:], stdout, stderr)
}

// rotateMaster re-encrypts every webhook secret under a new master key
// (app.RotateMaster says how, on each store) and prints what it did.
func rotateMaster(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hookd keys rotate-master", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := config.Register(fs, false)
	var newKey string
	var batch int
	fs.StringVar(&newKey, "new-master-key", "", "the new master key, base64 of 32 bytes (required with --master-key or PostgreSQL; default on the embedded store: generated)")
	fs.IntVar(&batch, "batch-size", 500, "webhooks read per batch")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := cfg.Validate(false); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if batch < 1 {
		return fmt.Errorf("%w: --batch-size must be at least 1", errUsage)
	}
	res, err := app.RotateMaster(ctx, cfg, newKey, batch)
	if err != nil {
		return fmt.Errorf("rotate-master: %w", err)
	}
	return printJSON(stdout, res)
}
