package api_test

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hookd/hookd/internal/api/openapitest"
)

// docs/api.md is the human description of api/openapi.yaml. These tests keep
// the two in step, as TestRoutesMatchOpenAPI does for the router: every
// operation has its own section, headed "### METHOD /path", whose status
// table lists exactly the documented response codes and whose text names
// every field of the operation's query, request body and success answer
// (in backquotes, or quoted in a JSON example).

const apiDoc = "../../docs/api.md"

// docSection is the text under one "### METHOD /path" heading, up to the
// next heading of level 3 or above.
type docSection struct {
	text     string
	statuses []string // the first cells of the status table's rows
}

var (
	operationHeading = regexp.MustCompile(`^### (GET|POST|PUT|PATCH|DELETE) (/\S*)$`)
	statusRow        = regexp.MustCompile(`^\| *([1-5][0-9][0-9]) *\|`)
)

func readAPIDoc(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(apiDoc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func docSections(t *testing.T, doc string) map[string]*docSection {
	t.Helper()
	out := map[string]*docSection{}
	var cur *docSection
	inCode := false
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(line, "```") {
			inCode = !inCode
		}
		if !inCode && (strings.HasPrefix(line, "# ") || strings.HasPrefix(line, "## ") || strings.HasPrefix(line, "### ")) {
			cur = nil
			if m := operationHeading.FindStringSubmatch(line); m != nil {
				key := m[1] + " " + m[2]
				if out[key] != nil {
					t.Errorf("%s: %s has two sections", apiDoc, key)
				}
				cur = &docSection{}
				out[key] = cur
			}
			continue
		}
		if cur == nil {
			continue
		}
		cur.text += line + "\n"
		if m := statusRow.FindStringSubmatch(line); m != nil && !inCode {
			cur.statuses = append(cur.statuses, m[1])
		}
	}
	return out
}

func TestAPIDocDescribesEveryOperation(t *testing.T) {
	spec := openapitest.Load(t)
	sections := docSections(t, readAPIDoc(t))
	documented := map[string]bool{}
	for _, r := range spec.Routes() {
		key := r.Method + " " + r.Path
		documented[key] = true
		t.Run(key, func(t *testing.T) {
			sec := sections[key]
			if sec == nil {
				t.Fatalf("%s has no section headed \"### %s\"", apiDoc, key)
			}
			got := slices.Clone(sec.statuses)
			slices.Sort(got)
			if want := spec.Statuses(r); !slices.Equal(got, want) {
				t.Errorf("status table lists %v; api/openapi.yaml documents %v", got, want)
			}
			for _, f := range spec.Fields(r) {
				if !strings.Contains(sec.text, "`"+f+"`") && !strings.Contains(sec.text, `"`+f+`"`) {
					t.Errorf("field `%s` is not mentioned in the section (as `%s` or in a JSON example)", f, f)
				}
			}
		})
	}
	for key := range sections {
		if !documented[key] {
			t.Errorf("%s documents %s, which api/openapi.yaml does not have", apiDoc, key)
		}
	}
}

// The payload and signature contract: the error envelope, every delivery
// header, and a signed example that is one of the shared test vectors.
func TestAPIDocStatesThePayloadAndSignatureContract(t *testing.T) {
	doc := readAPIDoc(t)
	for _, s := range []string{"`error_message`", "`error_code`", "WWW-Authenticate: Bearer",
		"X-Webhook-Signature-256", "X-Webhook-Event", "X-Webhook-Delivery", "X-Webhook-Event-ID", "User-Agent: hookd/",
		"`event_type`", "`task_id`", "`task_status`", "`task_output`", "`task_error`", "`timestamp`",
		"0 s, 5 s, 30 s and\n  2 min", "Retry-After"} {
		if !strings.Contains(doc, s) {
			t.Errorf("%s does not state %q", apiDoc, s)
		}
	}
	raw, err := os.ReadFile("../../webhooksig/testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vectors []struct{ Secret, Body, Header string }
	if err := json.Unmarshal(raw, &vectors); err != nil {
		t.Fatal(err)
	}
	signatures := regexp.MustCompile(`sha256=[0-9a-f]{64}`).FindAllString(doc, -1)
	if len(signatures) == 0 {
		t.Fatal("no signed example")
	}
	for _, sig := range signatures {
		i := slices.IndexFunc(vectors, func(v struct{ Secret, Body, Header string }) bool { return v.Header == sig })
		if i < 0 {
			t.Errorf("signature %s in %s is not one of webhooksig/testdata/vectors.json", sig, apiDoc)
			continue
		}
		if v := vectors[i]; !strings.Contains(doc, v.Secret) || (v.Body != "" && !strings.Contains(doc, v.Body)) {
			t.Errorf("the example signed %s does not show its secret and exact body", sig)
		}
	}
}
