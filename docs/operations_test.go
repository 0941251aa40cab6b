package docs

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hookd/hookd/internal/config"
	"github.com/hookd/hookd/internal/secretbox"
)

const operationsDoc = "operations.md"

func readDoc(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The configuration table of operations.md lists exactly the flags of
// `hookd serve`: a flag added, renamed or removed without its row fails.
func TestOperationsDocListsEveryFlag(t *testing.T) {
	doc := readDoc(t, operationsDoc)
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	config.Register(fs, true)
	flags := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) { flags[f.Name] = true })
	rowFlags := map[string]bool{}
	row := regexp.MustCompile("^\\| (`--[a-z-]+`(?:, `--[a-z-]+`)*) \\|")
	for _, line := range strings.Split(doc, "\n") {
		if m := row.FindStringSubmatch(line); m != nil {
			for _, f := range regexp.MustCompile("`--([a-z-]+)`").FindAllStringSubmatch(m[1], -1) {
				rowFlags[f[1]] = true
			}
		}
	}
	for name := range flags {
		if !rowFlags[name] {
			t.Errorf("%s: the configuration table has no row for --%s", operationsDoc, name)
		}
	}
	for name := range rowFlags {
		if !flags[name] {
			t.Errorf("%s: the configuration table lists --%s, which hookd serve does not have", operationsDoc, name)
		}
	}
	for _, s := range []string{"hookd keys rotate-master", "--new-master-key", "HOOKD_PREVIOUS_MASTER_KEY", "hookd.db.lock",
		"FOR UPDATE SKIP LOCKED", "00002_lean_queue", "00003_lean_queue", "pg_dump", ".backup"} {
		if !strings.Contains(doc, s) {
			t.Errorf("%s does not mention %q", operationsDoc, s)
		}
	}
}

// The shell function that computes a key's fingerprint agrees with hookd.
func TestOperationsFingerprintSnippet(t *testing.T) {
	doc := readDoc(t, operationsDoc)
	m := regexp.MustCompile("(?s)<!-- tested: fingerprint -->\n```sh\n(.*?)```").FindStringSubmatch(doc)
	if m == nil {
		t.Fatalf("%s has no sample marked fingerprint", operationsDoc)
	}
	for _, tool := range []string{"bash", "openssl", "base64", "od"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	for range 3 {
		dir := t.TempDir()
		key, _ := secretbox.GenerateKey()
		if err := os.MkdirAll(filepath.Join(dir, "hookd-data"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "hookd-data", "master.key"), []byte(key+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("bash", "-euo", "pipefail", "-c", m[1])
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("the fingerprint sample: %v\n%s", err, out)
		}
		raw, _ := secretbox.ParseKey(key)
		box, _ := secretbox.New(raw)
		if got := strings.TrimSpace(string(out)); got != box.Fingerprint() {
			t.Fatalf("the sample prints %q, hookd's fingerprint is %s", got, box.Fingerprint())
		}
	}
}

// The documentation is self-contained: its links point at files of this
// repository (and their headings), never outside it.
func TestDocsLinkOnlyInsideTheRepository(t *testing.T) {
	files, _ := filepath.Glob("*.md")
	files = append(files, "../README.md")
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	for _, f := range files {
		text := readDoc(t, f)
		for _, s := range []string{"../shared", "SPEC.md", "DESIGN.md"} {
			if strings.Contains(text, s) {
				t.Errorf("%s mentions %s, which is not part of the repository", f, s)
			}
		}
		for _, m := range link.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "//") || strings.HasPrefix(target, "mailto:") {
				t.Errorf("%s links outside the repository: %s", f, target)
				continue
			}
			path, anchor, _ := strings.Cut(target, "#")
			if path == "" {
				path = filepath.Base(f)
			}
			full := filepath.Join(filepath.Dir(f), path)
			body, err := os.ReadFile(full)
			if err != nil {
				t.Errorf("%s links to %s, which does not exist", f, target)
				continue
			}
			if anchor != "" && !hasAnchor(string(body), anchor) {
				t.Errorf("%s links to %s: %s has no heading with that anchor", f, target, path)
			}
		}
	}
}

// hasAnchor reports whether a markdown text has a heading whose GitHub-style
// anchor is anchor (lower case, punctuation dropped, spaces to dashes).
func hasAnchor(text, anchor string) bool {
	drop := regexp.MustCompile(`[^\p{L}\p{N} _-]`)
	for _, line := range strings.Split(text, "\n") {
		h := strings.TrimLeft(line, "#")
		if len(h) == len(line) || !strings.HasPrefix(h, " ") {
			continue
		}
		slug := strings.ReplaceAll(drop.ReplaceAllString(strings.ToLower(strings.TrimSpace(h)), ""), " ", "-")
		if slug == anchor {
			return true
		}
	}
	return false
}
