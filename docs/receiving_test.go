// Package docs holds hookd's user documentation. Its tests run the code
// samples of receiving.md exactly as the page shows them, so the page
// cannot teach a receiver that does not work.
package docs

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const receivingDoc = "receiving.md"

// requireLanguagesEnv makes a missing interpreter fail the tests instead of
// skipping them (CI sets it and installs what is missing).
const requireLanguagesEnv = "HOOKD_REQUIRE_RECEIVER_LANGUAGES"

var (
	testedMarker = regexp.MustCompile(`^<!-- tested: ([a-z]+) -->$`)
	fence        = regexp.MustCompile("^```([a-z]*)$")
)

// snippetLanguages are the fence languages whose blocks must all be tested.
var snippetLanguages = map[string]bool{"go": true, "python": true, "js": true, "ruby": true}

// snippets returns the code blocks of receiving.md marked
// "<!-- tested: NAME -->" on the line before their opening fence, by name.
// A block in one of snippetLanguages without a marker fails the test: every
// sample a reader may copy is run.
func snippets(t *testing.T) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(receivingDoc)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	out := map[string]string{}
	for i := 0; i < len(lines); i++ {
		m := fence.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		start := i
		var body []string
		for i++; i < len(lines) && lines[i] != "```"; i++ {
			body = append(body, lines[i])
		}
		name := ""
		if start > 0 {
			if mm := testedMarker.FindStringSubmatch(lines[start-1]); mm != nil {
				name = mm[1]
			}
		}
		switch {
		case name != "":
			if _, dup := out[name]; dup {
				t.Fatalf("%s: two samples are marked %q", receivingDoc, name)
			}
			out[name] = strings.Join(body, "\n") + "\n"
		case snippetLanguages[m[1]]:
			t.Errorf("%s line %d: a %s sample without a <!-- tested: … --> marker is not run by any test", receivingDoc, start+1, m[1])
		}
	}
	for _, want := range []string{"go", "python", "node", "ruby"} {
		if out[want] == "" {
			t.Errorf("%s has no sample marked %q", receivingDoc, want)
		}
	}
	return out
}

func vectorsPath(t *testing.T) string {
	p, err := filepath.Abs("../webhooksig/testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []json.RawMessage
	if b, err := os.ReadFile(p); err != nil || json.Unmarshal(b, &vs) != nil || len(vs) < 2 {
		t.Fatalf("test vectors at %s: %v", p, err)
	}
	return p
}

// interpreter finds a language's program, or skips (fails in CI).
func interpreter(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv(requireLanguagesEnv) != "" {
			t.Fatalf("%s is not installed and %s is set", name, requireLanguagesEnv)
		}
		t.Skipf("%s is not installed: the %s sample of %s is not checked here (set %s to make this a failure)",
			name, name, receivingDoc, requireLanguagesEnv)
	}
	return p
}

// runSample writes the sample followed by a driver into one file, runs it,
// and expects the driver's last line to be "ok N" with N the number of
// vectors.
func runSample(t *testing.T, program, file, sample, driver string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), file)
	if err := os.WriteFile(path, []byte(sample+"\n"+driver), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(interpreter(t, program), path, vectorsPath(t)).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", program, file, err, out)
	}
	if !regexp.MustCompile(`(?m)^ok [1-9][0-9]*\s*$`).Match(out) {
		t.Fatalf("the driver did not confirm every vector:\n%s", out)
	}
}

func TestEverySampleIsMarkedAndPresent(t *testing.T) { snippets(t) }

// Each driver checks every vector verifies, and that these do not: another
// body, another secret, a changed digit, no header, an empty header, a
// header that is not ASCII.

const pythonDriver = `
import json, sys

vectors = json.load(open(sys.argv[1], encoding="utf-8"))
for v in vectors:
    body = v["body"].encode("utf-8")
    assert verify(v["secret"], body, v["header"]), v["name"]
    assert not verify(v["secret"], body + b" ", v["header"]), v["name"]
    assert not verify(v["secret"] + "x", body, v["header"]), v["name"]
    flipped = v["header"][:-1] + ("0" if v["header"][-1] != "0" else "1")
    assert not verify(v["secret"], body, flipped), v["name"]
    assert not verify(v["secret"], body, None), v["name"]
    assert not verify(v["secret"], body, ""), v["name"]
    assert not verify(v["secret"], body, "sha256=" + "é" * 63), v["name"]
print("ok", len(vectors))
`

func TestPythonSample(t *testing.T) {
	runSample(t, "python3", "verify.py", snippets(t)["python"], pythonDriver)
}

const nodeDriver = `
const fs = require("node:fs");
const assert = require("node:assert");

const vectors = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
for (const v of vectors) {
  const body = Buffer.from(v.body, "utf8");
  assert.ok(verify(v.secret, body, v.header), v.name);
  assert.ok(!verify(v.secret, Buffer.concat([body, Buffer.from(" ")]), v.header), v.name);
  assert.ok(!verify(v.secret + "x", body, v.header), v.name);
  const flipped = v.header.slice(0, -1) + (v.header.endsWith("0") ? "1" : "0");
  assert.ok(!verify(v.secret, body, flipped), v.name);
  assert.ok(!verify(v.secret, body, undefined), v.name);
  assert.ok(!verify(v.secret, body, ""), v.name);
  assert.ok(!verify(v.secret, body, "sha256=" + "é".repeat(63)), v.name);
}
console.log("ok", vectors.length);
`

func TestNodeSample(t *testing.T) {
	runSample(t, "node", "verify.js", snippets(t)["node"], nodeDriver)
}

const rubyDriver = `
require "json"

def check(ok, name)
  raise "failed: #{name}" unless ok
end

vectors = JSON.parse(File.read(ARGV[0], encoding: "UTF-8"))
vectors.each do |v|
  body = v["body"].b
  check(verify(v["secret"], body, v["header"]), v["name"])
  check(!verify(v["secret"], body + " ", v["header"]), v["name"])
  check(!verify(v["secret"] + "x", body, v["header"]), v["name"])
  flipped = v["header"][0...-1] + (v["header"].end_with?("0") ? "1" : "0")
  check(!verify(v["secret"], body, flipped), v["name"])
  check(!verify(v["secret"], body, nil), v["name"])
  check(!verify(v["secret"], body, ""), v["name"])
  check(!verify(v["secret"], body, "sha256=" + "é" * 63), v["name"])
end
puts "ok #{vectors.length}"
`

func TestRubySample(t *testing.T) {
	runSample(t, "ruby", "verify.rb", snippets(t)["ruby"], rubyDriver)
}

// goDriver is a test of the Go sample's package: every vector is accepted
// and queued byte for byte; a forgery is 401; a repeat of an accepted
// delivery is acknowledged without queueing; a full queue answers 503 with
// Retry-After and does not count the delivery as accepted.
const goDriver = `package receiver

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
)

func post(h http.Handler, body, signature, delivery string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/hookd", bytes.NewReader([]byte(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Webhook-Signature-256", signature)
	req.Header.Set("X-Webhook-Delivery", delivery)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestVectors(t *testing.T) {
	raw, err := os.ReadFile(os.Getenv("VECTORS"))
	if err != nil {
		t.Fatal(err)
	}
	var vectors []struct{ Name, Secret, Body, Header string }
	if err := json.Unmarshal(raw, &vectors); err != nil {
		t.Fatal(err)
	}
	for i, v := range vectors {
		jobs := make(chan []byte, 1)
		h := Handler(v.Secret, jobs)
		id := "delivery-" + strconv.Itoa(i)
		if rec := post(h, v.Body+" ", v.Header, id); rec.Code != http.StatusUnauthorized || len(jobs) != 0 {
			t.Fatalf("%s: a forged body got %d", v.Name, rec.Code)
		}
		if rec := post(h, v.Body, v.Header, id); rec.Code/100 != 2 {
			t.Fatalf("%s: %d %s", v.Name, rec.Code, rec.Body)
		}
		if got := <-jobs; string(got) != v.Body {
			t.Fatalf("%s: queued %q", v.Name, got)
		}
		if rec := post(h, v.Body, v.Header, id); rec.Code/100 != 2 || len(jobs) != 0 {
			t.Fatalf("%s: a repeat got %d and queued %d", v.Name, rec.Code, len(jobs))
		}
		jobs <- []byte("busy")
		other := id + "-b"
		if rec := post(h, v.Body, v.Header, other); rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
			t.Fatalf("%s: a full queue got %d", v.Name, rec.Code)
		}
		<-jobs
		if rec := post(h, v.Body, v.Header, other); rec.Code/100 != 2 || len(jobs) != 1 {
			t.Fatalf("%s: the retry after a full queue got %d and queued %d", v.Name, rec.Code, len(jobs))
		}
	}
	println("ok", len(vectors))
}
`

// The Go sample imports webhooksig from this module, so it is built inside
// the module, in a directory the go tool's ./... patterns ignore.
func TestGoSample(t *testing.T) {
	goBin := interpreter(t, "go")
	dir, err := os.MkdirTemp(".", "_sample-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.WriteFile(filepath.Join(dir, "receiver.go"), []byte(snippets(t)["go"]), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "receiver_test.go"), []byte(goDriver), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(goBin, "test", "-count=1", "-v", "./"+filepath.Base(dir))
	cmd.Env = append(os.Environ(), "VECTORS="+vectorsPath(t))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go test of the Go sample: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`(?m)^ok [1-9][0-9]*\s*$`).Match(out) {
		t.Fatalf("the Go sample's test did not confirm every vector:\n%s", out)
	}
}
