package main

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// A command group (team, member, credential) has subcommands; each one's
// synopsis is written once and shown by `hookd help`, by `hookd GROUP
// --help`, and above the flags of `hookd GROUP SUB --help`.
type subcommand struct {
	name     string
	synopsis string // the flags after "hookd GROUP SUB"
	summary  string
	run      func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commandGroups() map[string][]subcommand {
	return map[string][]subcommand{
		"team": {
			{"create", teamCreateSynopsis, "create a team; prints its id", teamCreate},
		},
		"member": {
			{"add", memberAddSynopsis, "give a user (the JWT sub) a role in a team", memberAdd},
		},
		"credential": {
			{"create", credentialCreateSynopsis, "create an API key; prints it once", credentialCreate},
		},
	}
}

const (
	teamCreateSynopsis       = "--name NAME"
	memberAddSynopsis        = "--team ID --user ID --role owner|admin|member|viewer"
	credentialCreateSynopsis = "--team ID --kind integration|device [--user ID] --name NAME [--expires-in-days N]"
	tokenSynopsis            = "--user ID [--ttl DURATION]"
)

// storeNote is said by every administration command's help: they work on
// the store a `hookd serve` uses, and make a new one only when asked.
const storeNote = `Administration commands write the store directly: run them where hookd serve
keeps its data (--data-dir, default ./hookd-data; on PostgreSQL --database).
They refuse a --data-dir without a store unless --init is given.`

// groupUsage is the help of a command group.
func groupUsage(group string, subs []subcommand) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage:\n")
	for _, s := range subs {
		fmt.Fprintf(&b, "  hookd %s %s %s\n      %s\n", group, s.name, s.synopsis, s.summary)
	}
	fmt.Fprintf(&b, "\n%s\n\"hookd %s %s --help\" lists every flag.\n", storeNote, group, subs[0].name)
	return b.String()
}

// runGroup dispatches `hookd GROUP …`.
func runGroup(ctx context.Context, group string, subs []subcommand, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, groupUsage(group, subs))
		return fmt.Errorf("%w: %s needs a subcommand: %s", errUsage, group, subNames(subs))
	}
	if isHelp(args[0]) {
		fmt.Fprint(stdout, groupUsage(group, subs))
		return nil
	}
	for _, s := range subs {
		if s.name == args[0] {
			return s.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprint(stderr, groupUsage(group, subs))
	return fmt.Errorf("%w: unknown command %q (%s has: %s)", errUsage, group+" "+args[0], group, subNames(subs))
}

func subNames(subs []subcommand) string {
	names := make([]string, len(subs))
	for i, s := range subs {
		names[i] = s.name
	}
	return strings.Join(names, ", ")
}

func isHelp(arg string) bool {
	switch arg {
	case "help", "-h", "-help", "--help":
		return true
	}
	return false
}
