package deploy_test

import (
	"bytes"
	"os"
	"os/exec"
	"testing"
)

// requirePromtoolEnv makes a missing promtool fail the tests instead of
// skipping them (.ci/run installs promtool and sets it).
const requirePromtoolEnv = "HOOKD_REQUIRE_PROMTOOL"

// promtool runs promtool with args in this directory (stdin: input, when
// not nil) and fails the test with its output unless it succeeds. Without
// promtool the test is skipped, or fails when HOOKD_REQUIRE_PROMTOOL=1.
func promtool(t *testing.T, input []byte, args ...string) {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv(requirePromtoolEnv) == "1" {
			t.Fatalf("promtool is not installed and %s=1", requirePromtoolEnv)
		}
		t.Skipf("promtool is not installed (Debian: it is in the prometheus package; .ci/run installs it): skipped")
	}
	cmd := exec.Command(path, args...)
	if input != nil {
		cmd.Stdin = bytes.NewReader(input)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %v: %v\n%s", args, err, out)
	}
}

// The alert rules are valid Prometheus rules, and behave as their unit
// tests (prometheus/alerts_test.yml) say: each fires on the situation it is
// about, with its labels and annotations, and not before its for: elapsed.
func TestAlertRulesPassPromtool(t *testing.T) {
	t.Run("check rules", func(t *testing.T) { promtool(t, nil, "check", "rules", alertsFile) })
	t.Run("test rules", func(t *testing.T) { promtool(t, nil, "test", "rules", "prometheus/alerts_test.yml") })
}
