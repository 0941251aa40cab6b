package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/hookd/hookd/internal/app"
	"github.com/hookd/hookd/internal/config"
)

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("hookd serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := config.Register(fs, true)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	// A bad --log-level is reported by Serve together with every other
	// mistake; until then the default level applies.
	level, err := config.ParseLogLevel(cfg.LogLevel)
	if err != nil {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	return app.Serve(ctx, cfg, log, nil)
}

// parseFlags parses flags and environment; a mistake is a usage error.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := config.Parse(fs, args, nil); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	return nil
}

func versionString() string { return "hookd " + app.Version }
