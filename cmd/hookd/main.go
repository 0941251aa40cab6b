// Command hookd is the webhook service: `hookd serve` runs the API and the
// delivery workers; the other subcommands administer the store directly, so
// that a fresh install can be bootstrapped (SPEC §2, §7).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `hookd — signed, durable webhooks for task events

Usage:
  hookd serve [flags]                      run the API and the delivery workers
  hookd team create --name NAME            create a team
  hookd member add --team ID --user ID --role owner|admin|member|viewer
  hookd credential create --team ID --kind integration|device [--user ID] --name NAME [--expires-in-days N]
  hookd token --user ID [--ttl DURATION]   mint an HS256 JWT (development and tests)
  hookd keys rotate-master [--new-master-key KEY]   re-encrypt every webhook secret under a new master key
  hookd demo                               the whole loop on a temporary store, with a local receiver
  hookd bench [--scenario NAME] [flags]    measure delivery throughput and latency (see BENCHMARKS.md)
  hookd version

Every flag also reads HOOKD_<FLAG> (dashes become underscores); "hookd serve -h" lists them,
"hookd team --help" (and so on) the subcommands and their flags.

The administration commands (team, member, credential, token) work on the store of a
hookd serve: run them in its directory or pass its --data-dir (default ./hookd-data);
they refuse a directory without a store unless --init is given.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// errUsage marks a command-line mistake (exit status 2).
var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	err := dispatch(ctx, args, stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "hookd: %v\n", err)
		return 2
	default:
		fmt.Fprintf(stderr, "hookd: %v\n", err)
		return 1
	}
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: a command is required", errUsage)
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return serve(ctx, rest, stderr)
	case "team", "member", "credential":
		return runGroup(ctx, cmd, commandGroups()[cmd], rest, stdout, stderr)
	case "token":
		return token(ctx, rest, stdout, stderr)
	case "keys":
		return keys(ctx, rest, stdout, stderr)
	case "demo":
		return demo(ctx, rest, stdout, stderr)
	case "bench":
		return bench(ctx, rest, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, versionString())
		return nil
	case "help", "-h", "-help", "--help":
		// `hookd help team` is `hookd team --help`.
		if len(rest) > 0 {
			if subs, ok := commandGroups()[rest[0]]; ok {
				fmt.Fprint(stdout, groupUsage(rest[0], subs))
				return nil
			}
		}
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("%w: unknown command %q", errUsage, cmd)
}
