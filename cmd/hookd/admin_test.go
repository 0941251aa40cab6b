package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// hookdRun runs the command line in-process.
func hookdRun(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestAdminCommands(t *testing.T) {
	dir := "--data-dir=" + t.TempDir()
	code, out, errOut := hookdRun(t, "team", "create", "--name", "Acme", dir, "--init")
	if code != 0 {
		t.Fatalf("team create: %d %s", code, errOut)
	}
	var team struct{ ID, DisplayName string }
	if err := json.Unmarshal([]byte(out), &struct {
		ID          *string `json:"id"`
		DisplayName *string `json:"display_name"`
	}{&team.ID, &team.DisplayName}); err != nil || team.DisplayName != "Acme" || len(team.ID) != 36 {
		t.Fatalf("team create printed %q", out)
	}
	user := "019abc12-3456-7890-abcd-ef1234567890"
	if code, out, _ = hookdRun(t, "member", "add", "--team", team.ID, "--user", user, "--role", "viewer", dir); code != 0 ||
		out != `{"team_id":"`+team.ID+`","user_id":"`+user+`","role":"viewer"}`+"\n" {
		t.Fatalf("member add: %d %q", code, out)
	}
	code, out, _ = hookdRun(t, "credential", "create", "--team", team.ID, "--kind", "device", "--user", user, "--name", "laptop", dir)
	if code != 0 || !strings.Contains(out, `"kind":"device"`) || !strings.Contains(out, `"raw_key":"dk-`) {
		t.Fatalf("credential create device: %d %q", code, out)
	}
	code, out, _ = hookdRun(t, "credential", "create", "--team", team.ID, "--kind", "integration", "--name", "ci", "--expires-in-days", "30", dir)
	if code != 0 || !strings.Contains(out, `"raw_key":"sk-`) {
		t.Fatalf("credential create integration: %d %q", code, out)
	}
	if code, out, _ = hookdRun(t, "token", "--user", user, "--ttl", "5m", dir); code != 0 || !strings.HasPrefix(out, `{"token":"ey`) {
		t.Fatalf("token: %d %q", code, out)
	}
	if code, out, _ = hookdRun(t, "version"); code != 0 || !strings.HasPrefix(out, "hookd ") {
		t.Fatalf("version: %d %q", code, out)
	}

	// Mistakes: usage errors exit 2, failures exit 1, both say why on stderr.
	other := "019abc12-3456-7890-abcd-000000000000"
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{}, 2, "command is required"},
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"team", "delete"}, 2, "unknown command"},
		{[]string{"team"}, 2, "team needs a subcommand: create"},
		{[]string{"team", "create", dir}, 2, "--name"},
		// PostgreSQL text refuses these bytes (SQLite took them): refused
		// before the store on both.
		{[]string{"team", "create", "--name", "bad \xff\xfe", dir}, 2, "--name: is not valid UTF-8"},
		{[]string{"team", "create", "--name", "nul \x00", dir}, 2, "--name: must not contain NUL"},
		{[]string{"credential", "create", "--team", team.ID, "--kind", "integration", "--name", "\xc3", dir}, 2, "--name: is not valid UTF-8"},
		{[]string{"credential", "create", "--team", team.ID, "--kind", "integration", "--name", "a\x00", dir}, 2, "--name: must not contain NUL"},
		{[]string{"member", "add", "--team", team.ID, "--user", user, "--role", "god", dir}, 2, "--role"},
		{[]string{"member", "add", "--team", "nope", "--user", user, "--role", "admin", dir}, 2, "--team must be a UUID"},
		{[]string{"member", "add", "--team", other, "--user", user, "--role", "admin", dir}, 1, "no team"},
		{[]string{"credential", "create", "--team", team.ID, "--kind", "device", "--name", "x", dir}, 2, "--user is required"},
		{[]string{"credential", "create", "--team", team.ID, "--kind", "device", "--user", other, "--name", "x", dir}, 1, "not a member"},
		{[]string{"credential", "create", "--team", team.ID, "--kind", "robot", "--name", "x", dir}, 2, "--kind"},
		{[]string{"credential", "create", "--team", team.ID, "--kind", "integration", "--name", "x", "--expires-in-days", "400", dir}, 2, "--expires-in-days"},
		{[]string{"token", dir}, 2, "--user is required"},
		{[]string{"token", "--user", user, "--ttl", "-1s", dir}, 2, "--ttl"},
		{[]string{"serve", "--workers", "0", dir}, 1, "--workers"},
		{[]string{"serve", "--retry-schedule", "5x", dir}, 1, "--retry-schedule"},
		{[]string{"team", "create", "--name", "x", "--database", "mysql://db", dir}, 2, "--database"},
	} {
		code, _, errOut := hookdRun(t, c.args...)
		if code != c.code || !strings.Contains(errOut, c.msg) {
			t.Errorf("hookd %v: exit %d, stderr %q; want exit %d mentioning %q", c.args, code, errOut, c.code, c.msg)
		}
	}
}

func TestAdminCommandsReadTheEnvironment(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HOOKD_DATA_DIR", dir)
	t.Setenv("HOOKD_INIT", "1")
	code, out, errOut := hookdRun(t, "team", "create", "--name", "From env")
	if code != 0 {
		t.Fatalf("team create: %d %s", code, errOut)
	}
	var team map[string]string
	_ = json.Unmarshal([]byte(out), &team)
	// The same store, found through the flag this time.
	code, _, errOut = hookdRun(t, "member", "add", "--team", team["id"], "--user", "019abc12-3456-7890-abcd-ef1234567890", "--role", "owner", "--data-dir", dir)
	if code != 0 {
		t.Fatalf("member add in the store HOOKD_DATA_DIR chose: %d %s", code, errOut)
	}
}

func TestKeysCommandUsage(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"keys"}, 2, "hookd keys rotate-master"},
		{[]string{"keys", "rotate"}, 2, "hookd keys rotate-master"},
		{[]string{"keys", "rotate-master", "--data-dir", dir, "--batch-size", "0"}, 2, "--batch-size"},
		{[]string{"keys", "rotate-master", "--data-dir", dir, "--master-key", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}, 1, "--new-master-key is required"},
		{[]string{"keys", "rotate-master", "--data-dir", dir}, 1, "nothing to rotate"},
		{[]string{"keys", "rotate-master", "--data-dir", dir, "--master-key", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
			"--new-master-key", "short"}, 1, "--new-master-key: master key"},
		{[]string{"keys", "rotate-master", "--data-dir", dir, "--master-key", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
			"--new-master-key", "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=", "--previous-master-key", "secret-looking-garbage"}, 1, "--previous-master-key (number 1)"},
	} {
		code, _, errOut := hookdRun(t, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) || strings.Contains(errOut, "secret-looking-garbage") {
			t.Errorf("hookd %v: exit %d, stderr %q; want %d mentioning %q", tc.args, code, errOut, tc.code, tc.want)
		}
	}
}
