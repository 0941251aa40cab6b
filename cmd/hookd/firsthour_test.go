package main

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runIn runs the hookd binary in dir, with no HOOKD_* variables from the
// test's environment, and returns its exit code and output.
func runIn(t *testing.T, dir string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(hookdBin, args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HOOKD_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		t.Fatal(err)
	}
	return code, out.String(), errOut.String()
}

// TestAdminCommandsRefuseADirectoryWithoutAStore is the first-hour trap:
// run in another directory, the administration commands created a new
// ./hookd-data (with a new JWT secret), and the user met "no team" and
// "bearer token signature is invalid" later. Now each refuses, names the
// directory, creates nothing, and says how to go on.
func TestAdminCommandsRefuseADirectoryWithoutAStore(t *testing.T) {
	cwd := t.TempDir()
	want := filepath.Join(cwd, "hookd-data")
	team, user := "019abc12-3456-7890-abcd-000000000001", "019abc12-3456-7890-abcd-ef1234567890"
	for _, args := range [][]string{
		{"team", "create", "--name", "Acme"},
		{"member", "add", "--team", team, "--user", user, "--role", "admin"},
		{"credential", "create", "--team", team, "--kind", "integration", "--name", "ci"},
		{"token", "--user", user},
	} {
		code, out, errOut := runIn(t, cwd, args...)
		if code != 1 || out != "" || !strings.Contains(errOut, "no hookd store in "+want+":") ||
			!strings.Contains(errOut, "--data-dir") || !strings.Contains(errOut, "--init") {
			t.Errorf("hookd %s in a directory without a store: exit %d, stdout %q, stderr %q", strings.Join(args, " "), code, out, errOut)
		}
		if _, err := os.Lstat(want); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("hookd %s created %s (%v)", strings.Join(args, " "), want, err)
		}
	}

	// --init is the explicit way to start a store; then the others work.
	code, out, errOut := runIn(t, cwd, "team", "create", "--name", "Acme", "--init")
	if code != 0 || !strings.Contains(out, `"display_name":"Acme"`) {
		t.Fatalf("team create --init: exit %d, %q %q", code, out, errOut)
	}
	if code, out, errOut = runIn(t, cwd, "token", "--user", user); code != 0 || !strings.HasPrefix(out, `{"token":"ey`) {
		t.Fatalf("token beside the new store: exit %d, %q %q", code, out, errOut)
	}
	for _, name := range []string{"hookd.db", "jwt-secret"} {
		if _, err := os.Stat(filepath.Join(want, name)); err != nil {
			t.Errorf("after --init and token: %v", err)
		}
	}

	// token --init in an empty directory makes the store and its secret.
	other := filepath.Join(t.TempDir(), "data")
	if code, out, errOut = runIn(t, cwd, "token", "--user", user, "--data-dir", other, "--init"); code != 0 || !strings.HasPrefix(out, `{"token":"ey`) {
		t.Fatalf("token --init: exit %d, %q %q", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(other, "hookd.db")); err != nil {
		t.Errorf("token --init made a secret without a store: %v", err)
	}

	// A token signed with an explicit --jwt-secret needs no store at all.
	empty := t.TempDir()
	if code, out, errOut = runIn(t, empty, "token", "--user", user, "--jwt-secret", strings.Repeat("x", 32)); code != 0 || !strings.HasPrefix(out, `{"token":"ey`) {
		t.Fatalf("token --jwt-secret: exit %d, %q %q", code, out, errOut)
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Errorf("token --jwt-secret wrote %v", entries)
	}
}

// TestGroupHelp: `hookd team --help` answered "unknown command"; each
// command group now lists its subcommands, and each subcommand's --help
// starts with its synopsis.
func TestGroupHelp(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"team", "--help"}, "hookd team create --name NAME"},
		{[]string{"team", "-h"}, "hookd team create --name NAME"},
		{[]string{"member", "--help"}, "hookd member add --team ID --user ID --role owner|admin|member|viewer"},
		{[]string{"credential", "help"}, "hookd credential create --team ID --kind integration|device"},
		{[]string{"help", "member"}, "hookd member add --team ID"},
	} {
		code, out, errOut := hookdRun(t, c.args...)
		if code != 0 || !strings.Contains(out, c.want) || !strings.Contains(out, "--init") || errOut != "" {
			t.Errorf("hookd %v: exit %d, stdout %q, stderr %q; want exit 0 and %q", c.args, code, out, errOut, c.want)
		}
	}
	for args, want := range map[string]string{
		"team create --help":       "Usage: hookd team create --name NAME",
		"member add -h":            "Usage: hookd member add --team ID",
		"credential create --help": "Usage: hookd credential create --team ID",
		"token --help":             "Usage: hookd token --user ID",
	} {
		code, _, errOut := hookdRun(t, strings.Fields(args)...)
		if code != 0 || !strings.Contains(errOut, want) || !strings.Contains(errOut, "-init") {
			t.Errorf("hookd %s: exit %d, %q; want its synopsis %q and its flags", args, code, errOut, want)
		}
	}
	code, _, errOut := hookdRun(t, "member", "remove")
	if code != 2 || !strings.Contains(errOut, `unknown command "member remove" (member has: add)`) || !strings.Contains(errOut, "hookd member add") {
		t.Errorf("hookd member remove: exit %d, %q", code, errOut)
	}
}

// TestLogLevelListsTheLevels: slog's own wording ("slog: level string
// \"LOUD\": unknown name") did not say what would work.
func TestLogLevelListsTheLevels(t *testing.T) {
	want := `--log-level "loud" is not a level: use debug, info, warn or error`
	code, _, errOut := hookdRun(t, "serve", "--log-level", "loud", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir())
	if code != 1 || !strings.Contains(errOut, want) || strings.Contains(errOut, "slog") {
		t.Errorf("serve --log-level loud: exit %d, %q", code, errOut)
	}
	t.Setenv("HOOKD_LOG_LEVEL", "loud")
	if code, _, errOut = hookdRun(t, "team", "create", "--name", "x", "--data-dir", t.TempDir()); code != 2 || !strings.Contains(errOut, want) {
		t.Errorf("team create with HOOKD_LOG_LEVEL=loud: exit %d, %q", code, errOut)
	}
	for _, level := range []string{"debug", "INFO", "Warn", "error"} {
		t.Setenv("HOOKD_LOG_LEVEL", level)
		if code, _, errOut = hookdRun(t, "team", "create", "--name", "x", "--init", "--data-dir", t.TempDir()); code != 0 {
			t.Errorf("HOOKD_LOG_LEVEL=%s refused: %q", level, errOut)
		}
	}
}

// TestFailedStartLeavesNoDataDirectory: a start that fails because the
// port is taken used to leave a new data directory with generated keys.
func TestFailedStartLeavesNoDataDirectory(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cwd := t.TempDir()
	code, _, errOut := runIn(t, cwd, "serve", "--addr", ln.Addr().String())
	if code != 1 || !strings.Contains(errOut, "--addr "+ln.Addr().String()+" is already in use") {
		t.Fatalf("serve on a taken port: exit %d, %q", code, errOut)
	}
	if entries, _ := os.ReadDir(cwd); len(entries) != 0 {
		t.Fatalf("the failed start left %v in its directory", entries)
	}
}

// TestPostgresStartReportsEverythingBeforeConnecting: the missing keys
// came one per failed start, each after a connection; and a connection
// failure read "migrate: failed to initialize" with the dial error twice.
func TestPostgresStartReportsEverythingBeforeConnecting(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	url := "postgres://hookd:sekrit@" + closed + "/hookd"
	code, _, errOut := runIn(t, t.TempDir(), "serve", "--addr", "127.0.0.1:0", "--database", url)
	if code != 1 || !strings.Contains(errOut, "2 problems") || !strings.Contains(errOut, "--master-key") ||
		!strings.Contains(errOut, "--jwt-secret") || strings.Contains(errOut, "connect") {
		t.Fatalf("serve on PostgreSQL without keys: exit %d, %q", code, errOut)
	}
	want := "hookd: cannot connect to PostgreSQL at " + closed + ": connection refused\n"
	code, _, errOut = runIn(t, t.TempDir(), "serve", "--addr", "127.0.0.1:0", "--database", url,
		"--master-key", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "--jwt-secret", strings.Repeat("j", 32))
	if code != 1 || errOut != want {
		t.Fatalf("serve on a closed port: exit %d\n got: %q\nwant: %q", code, errOut, want)
	}
	if code, _, errOut = runIn(t, t.TempDir(), "team", "create", "--name", "x", "--database", url); code != 1 || errOut != want {
		t.Fatalf("team create on a closed port: exit %d\n got: %q\nwant: %q", code, errOut, want)
	}
}
