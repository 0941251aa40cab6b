package ingest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hookd/hookd/internal/jsonobj"
)

// The fast path must answer exactly as the slow path: same event (the raw
// bytes of task_output included), same error type, field and message. The
// tests here compare the two over a corpus.

// sameTime is stricter than time.Time.Equal (cmp's default): the same
// instant in the same zone, as time.Parse made it on either path.
var sameTime = cmp.Comparer(func(a, b time.Time) bool {
	return a.Equal(b) && a.String() == b.String() && a.Location().String() == b.Location().String()
})

// errKey is what a caller can see of an error.
type errKey struct {
	Type, Text string
	Field, Msg string
}

func keyOf(err error) *errKey {
	if err == nil {
		return nil
	}
	k := &errKey{Type: fmt.Sprintf("%T", err), Text: err.Error()}
	var in *jsonobj.Error
	if errors.As(err, &in) {
		k.Field, k.Msg = in.Field, in.Msg
	}
	return k
}

// checkParseSame fails when Parse and parseSlow answer body differently.
func checkParseSame(t *testing.T, body []byte) {
	t.Helper()
	want, wantErr := parseSlow(body)
	got, gotErr := Parse(body)
	if d := cmp.Diff(want, got, sameTime); d != "" {
		t.Fatalf("Parse(%q): event differs from parseSlow (-slow +fast):\n%s", body, d)
	}
	if d := cmp.Diff(keyOf(wantErr), keyOf(gotErr)); d != "" {
		t.Fatalf("Parse(%q): error differs from parseSlow (-slow +fast):\n%s", body, d)
	}
}

func TestParseFastEqualsSlow(t *testing.T) {
	for _, body := range eventCorpus(t) {
		checkParseSame(t, body)
	}
}

// A fast path that always gave up would pass the tests above: these fail
// then.
func TestFastPathTakesCommonShape(t *testing.T) {
	for _, body := range commonShapes() {
		ev, ok := parseFast(body)
		if !ok {
			t.Errorf("parseFast(%q) gave up on the common shape", body)
			continue
		}
		want, err := parseSlow(body)
		if err != nil {
			t.Fatalf("parseSlow(%q): %v", body, err)
		}
		if d := cmp.Diff(want, ev, sameTime); d != "" {
			t.Errorf("parseFast(%q) (-slow +fast):\n%s", body, d)
		}
	}
}

// The allocation count proves the fast path ran: the slow one allocates
// some 40 times an event.
func TestFastPathAllocations(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { _, _ = Parse(benchEvent) }); n > 6 {
		t.Errorf("Parse allocates %.0f times an event; the fast path is not taken", n)
	}
}

// The ids of the corpus.
const (
	teamA = "019c65a0-0000-7000-8000-000000000001"
	taskA = "019c65a0-aaaa-7bbb-cccc-dddddddddddd"
)

// event is a body with the given fields in order; values are raw JSON.
func event(kv ...string) []byte {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(kv[i]) + ":" + kv[i+1])
	}
	b.WriteByte('}')
	return []byte(b.String())
}

func q(s string) string { return `"` + s + `"` }

// commonShapes are events the fast path must take.
func commonShapes() [][]byte {
	return [][]byte{
		benchEvent,
		event("team_id", q(teamA), "task_id", q(taskA), "task_status", q("completed"), "task_output", `{}`),
		event("team_id", q(teamA), "task_id", q(taskA), "task_status", q("failed"), "task_error", q("agent lost")),
		event("team_id", q(teamA), "task_id", q(taskA), "task_status", q("failed"), "task_output", "null",
			"task_error", q("timeout: é ✓ 😀"), "timestamp", q("2026-02-16T09:00:00.123456789+01:00")),
		event("timestamp", "null", "task_error", `""`, "task_output", `{"a":[1,{"b":"}\"]"}],"c":null}`,
			"task_status", q("completed"), "task_id", q(strings.ToUpper(taskA)), "team_id", q(teamA)),
		[]byte(" \t\r\n{ \"team_id\" :\"" + teamA + "\" ,\n\"task_id\"\t:\t\"" + taskA +
			"\", \"task_status\" : \"completed\" , \"task_output\" : { \"a\" :\n [ 1 , 2 ]\t} } \n"),
	}
}

// eventCorpus: the fuzz seeds of every target, the common shapes, and odd
// cases around each rule the fast path must get right or leave alone.
func eventCorpus(t testing.TB) [][]byte {
	bodies := fuzzSeeds(t)
	bodies = append(bodies, commonShapes()...)
	add := func(b ...[]byte) { bodies = append(bodies, b...) }
	addS := func(s ...string) {
		for _, x := range s {
			add([]byte(x))
		}
	}
	addS("", " ", "null", "[]", "{}", "{ }", `""`, "1", "{", "}", "\xef\xbb\xbf{}", `{"team_id"}`, `{"team_id":}`,
		`{,}`, `{"team_id":"x",}`, `{"":1}`, `{"\u0000":1}`)

	base := []string{"team_id", q(teamA), "task_id", q(taskA), "task_status", q("completed"),
		"task_output", `{"k":"v"}`, "task_error", `""`, "timestamp", q("2026-02-16T09:00:00Z")}
	failed := []string{"team_id", q(teamA), "task_id", q(taskA), "task_status", q("failed"),
		"task_output", `null`, "task_error", q("boom"), "timestamp", q("2026-02-16T09:00:00Z")}
	with := func(kv []string, key, val string) []byte {
		out := append([]string(nil), kv...)
		for i := 0; i < len(out); i += 2 {
			if out[i] == key {
				out[i+1] = val
			}
		}
		return event(out...)
	}
	without := func(kv []string, key string) []byte {
		var out []string
		for i := 0; i < len(kv); i += 2 {
			if kv[i] != key {
				out = append(out, kv[i], kv[i+1])
			}
		}
		return event(out...)
	}
	// Every field: absent, null, each JSON type, escapes, repeated.
	for _, kv := range [][]string{base, failed} {
		for i := 0; i < len(kv); i += 2 {
			key, val := kv[i], kv[i+1]
			add(without(kv, key))
			for _, v := range []string{"null", "nul", "nullx", "true", "false", "0", "-1.5e3", "1e400", `""`, `"x"`,
				"[]", `["a"]`, "{}", `{"a":1}`, `"\u0030"`, `"\/"`, `"\n"`, "\"\t\"", "\"\x00\"", "\"\xff\"",
				"\"\xed\xa0\x80\"", "\"\xe2\x80\xa8\"", "\"\x7f\"", `"\ud800"`, val + " ", " " + val} {
				add(with(kv, key, v))
			}
			add(event(append(append([]string(nil), kv...), key, val)...))    // repeated, same value
			add(event(append(append([]string(nil), kv...), key, "null")...)) // repeated, then null
			add(event(append([]string{key, "\"\xff\""}, kv...)...))          // bad bytes in an overridden value
			add(event(append([]string{key, "null"}, kv...)...))              // null, then overridden
			add(event(append([]string{key, `"x"`}, kv...)...))               // another value, then overridden
			add([]byte(strings.Replace(string(event(kv...)), q(key), `"`+key+`\u0000"`, 1)))
			add([]byte(strings.Replace(string(event(kv...)), q(key), strings.ToUpper(q(key)), 1)))
			add([]byte(strings.Replace(string(event(kv...)), q(key), `"\u00`+strconv.FormatInt(int64(key[0]), 16)+key[1:]+`"`, 1)))
		}
		add(event(append(append([]string(nil), kv...), "extra", "1")...))
		add(event(append(append([]string(nil), kv...), "", "1")...))
		add(event(append(append([]string(nil), kv...), "\xff", "1")...))
	}
	// Ids: every form uuid.Parse knows, and near misses.
	for _, id := range []string{strings.ToUpper(teamA), "{" + teamA + "}", "urn:uuid:" + teamA,
		strings.ReplaceAll(teamA, "-", ""), "00000000-0000-0000-0000-000000000000", teamA[:35], teamA + "0",
		strings.Replace(teamA, "-", "_", 1), strings.Replace(teamA, "0", "g", 1), strings.Replace(teamA, "0", "é", 1)} {
		add(with(base, "team_id", q(id)), with(base, "task_id", q(id)))
	}
	// Statuses.
	for _, st := range []string{"completed", "failed", "Completed", "FAILED", "running", "", "completed ", "failed\u0000"} {
		add(with(base, "task_status", q(st)), with(failed, "task_status", q(st)))
	}
	// Timestamps: what RFC3339Nano takes, what it does not, range limits.
	for _, ts := range []string{"2026-02-16T09:00:00Z", "2026-02-16T09:00:00.5Z", "2026-02-16T09:00:00.1234567891Z",
		"2026-02-16T09:00:00+01:00", "2026-02-16T09:00:00-00:00", "2026-02-16T09:00:00+00:00", "2026-02-16T09:00:00+23:59",
		"2026-02-16t09:00:00z", "2026-02-16 09:00:00Z", "2026-02-16T09:00:00,5Z", "2026-02-16T09:00:60Z",
		"2026-02-16T24:00:00Z", "2026-02-30T09:00:00Z", "0000-01-01T00:00:00Z", "0001-01-01T00:00:00Z",
		"0001-01-01T00:30:00+01:00", "9999-12-31T23:59:59Z", "9999-12-31T23:00:00-01:00", "10000-01-01T00:00:00Z",
		"2026-02-16T09:00:00", "2026-02-16T09:00:00+0100", "2026-02-16T09:00:00+24:00", "2026-02-16", "", " ",
		"2026-02-16T09:00:00.Z", "2026-02-16T09:00:00Z\u0000", "２０２６-02-16T09:00:00Z"} {
		add(with(base, "timestamp", q(ts)), with(failed, "timestamp", q(ts)))
	}
	// task_error.
	for _, e := range []string{"", "x", "café ✓", "a\\\"b", `\u0000`, `\ud83d\ude00`, "\xe2\x80\xa8", "<&>", strings.Repeat("e", 5000)} {
		add(with(failed, "task_error", q(e)), with(base, "task_error", q(e)))
	}
	// task_output: nesting, strings holding brackets and quotes, numbers,
	// whitespace, invalid JSON the span finder must not be fooled by.
	for _, o := range []string{"{}", "{ }", " {\"a\" : [ 1 , 2 ] }", `{"a":"}"}`, `{"a":"\"}"}`, `{"a":"\\"}`,
		`{"a":"\\\"}"}`, `{"}":"{"}`, `{"a":[}`, `{"a":]}`, `{]`, `[}`, `{"a":1,}`, `{"a"}`, `{"a":01}`, `{"a":1e400}`,
		`{"a":-0.0,"b":1E+2,"c":123456789012345678901234567890}`, `{"a":"\u0000\ud800"}`, "{\"a\":\"\xff\"}",
		"{\"a\":\"\x00\"}", "{\"a\":\"\t\"}", "{\"a\":\"é\"}", `{"a":{"a":{"a":{}}}}`, `{"a":"x"`, `{"a":"x\`,
		"[1]", `"x"`, "1", "true", `{"a":tru}`, `{"a":nulll}`, "{\"a\":1}x", "{}{}", "{\"a\":\"\\u12\"}", `{"\"":1}`} {
		add(with(base, "task_output", o), with(failed, "task_output", o))
	}
	for _, depth := range []int{maxFastDepth - 1, maxFastDepth, maxFastDepth + 1, 9998, 9999, 10000, 10001} {
		// An object holding depth-1 arrays: depth levels in all, plus one for the event.
		o := `{"a":` + strings.Repeat("[", depth-1) + strings.Repeat("]", depth-1) + `}`
		add(with(base, "task_output", o))
	}
	// Around the object: whitespace, trailing data, truncation.
	ev := event(base...)
	for _, s := range []string{" ", "\n\t\r ", "x", "{}", "\x00", " ,", "]", "}", " null", "\xff", "\u00a0", "\f", "\v"} {
		add(append(append([]byte(nil), ev...), s...), append([]byte(s), ev...))
	}
	for i := range ev {
		add(ev[:i])
	}
	// Whitespace encoding/json does not take, beside every token.
	for _, ws := range []string{"\f", "\v", "\u00a0", "\u2028", "\x00"} {
		for _, tok := range []string{",", ":", "{", "}"} {
			add([]byte(strings.ReplaceAll(string(ev), tok, ws+tok)), []byte(strings.ReplaceAll(string(ev), tok, tok+ws)))
		}
	}
	// Every byte of a valid event replaced by bytes that matter to a JSON
	// reader: each lands in a key, a value, an id, a timestamp, or between.
	for _, body := range [][]byte{benchEvent, event(failed...)} {
		for i := range body {
			for _, c := range []byte{'"', '\\', '{', '}', '[', ',', ':', ' ', 'n', '0', 0, 0xff} {
				m := append([]byte(nil), body...)
				m[i] = c
				add(m)
			}
		}
	}
	return bodies
}

// fuzzSeeds are the inputs of every fuzz corpus of this package, whichever
// target they were written for: for the differential tests any body will
// do, and these were kept because they found something.
func fuzzSeeds(t testing.TB) [][]byte {
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", "*", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fuzz corpus: %v", err)
	}
	var out [][]byte
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		if lines[0] != "go test fuzz v1" {
			t.Fatalf("%s: not a fuzz corpus file", f)
		}
		for _, l := range lines[1:] {
			inner, ok := strings.CutPrefix(l, "[]byte(")
			inner, ok2 := strings.CutSuffix(inner, ")")
			s, err := strconv.Unquote(inner)
			if !ok || !ok2 || err != nil {
				t.Fatalf("%s: cannot read %q", f, l)
			}
			out = append(out, []byte(s))
		}
	}
	return out
}
