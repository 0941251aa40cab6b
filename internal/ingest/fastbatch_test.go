package ingest

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// ParseBatch must answer exactly as parseBatchSlow: same error for the
// body, same error and event for every item. Helpers and the event corpus
// are in fastparse_test.go.

// checkBatchSame fails when ParseBatch and parseBatchSlow answer body
// differently.
func checkBatchSame(t *testing.T, body []byte) {
	t.Helper()
	want, wantErrs, wantErr := parseBatchSlow(body)
	got, gotErrs, gotErr := ParseBatch(body)
	if d := cmp.Diff(keyOf(wantErr), keyOf(gotErr)); d != "" {
		t.Fatalf("ParseBatch(%.200q): error differs from parseBatchSlow (-slow +fast):\n%s", body, d)
	}
	if d := cmp.Diff(keysOf(wantErrs), keysOf(gotErrs)); d != "" {
		t.Fatalf("ParseBatch(%.200q): item errors differ from parseBatchSlow (-slow +fast):\n%s", body, d)
	}
	if d := cmp.Diff(want, got, sameTime); d != "" {
		t.Fatalf("ParseBatch(%.200q): events differ from parseBatchSlow (-slow +fast):\n%s", body, d)
	}
}

func TestParseBatchFastEqualsSlow(t *testing.T) {
	for _, body := range batchCorpus(t) {
		checkBatchSame(t, body)
	}
}

func TestFastBatchTakesCommonShape(t *testing.T) {
	for _, body := range commonShapes() {
		batch := []byte(`{"events":[` + string(body) + `,` + string(body) + `]}`)
		if _, _, ok := parseBatchFast(batch); !ok {
			t.Errorf("parseBatchFast gave up on %q", batch)
		}
	}
}

// The allocation count proves every item took the fast path: the slow one
// allocates some 40 times an item, the fast one once per value it copies
// (task_output, and task_error or timestamp when present).
func TestFastBatchAllocations(t *testing.T) {
	// Under the race detector sync.Pool drops some of the scanners
	// json.Valid returns to it, hence the margin.
	if n := testing.AllocsPerRun(10, func() { _, _, _ = ParseBatch(benchBatch) }); n > 3*500 {
		t.Errorf("ParseBatch allocates %.0f times for 500 events; the fast path is not taken", n)
	}
}

func keysOf(errs []error) []*errKey {
	if errs == nil {
		return nil
	}
	out := make([]*errKey, len(errs))
	for i, err := range errs {
		out[i] = keyOf(err)
	}
	return out
}

// batchCorpus: the fuzz seeds of every target, each event of eventCorpus as
// an item among good ones, and odd envelopes.
func batchCorpus(t testing.TB) [][]byte {
	bodies := fuzzSeeds(t)
	add := func(s ...string) {
		for _, x := range s {
			bodies = append(bodies, []byte(x))
		}
	}
	good := string(benchEvent)
	for _, ev := range eventCorpus(t) {
		add(`{"events":[`+string(ev)+`]}`, `{"events":[`+good+`,`+string(ev)+`,`+good+`]}`)
	}
	add("", "null", "[]", "{}", `{"events":[]}`, " { \"events\" : [ ] } ", "{\n\"events\"\t:\r[\n"+good+"\n,\n"+good+"\n]\n}\n",
		`{"events":null}`, `{"events":{}}`, `{"events":"x"}`, `{"events":1}`, `{"events":[}`, `{"events":[]`, `{"events":[]}}`,
		`{"events":[]}x`, `{"events":[]} {}`, `{"events":[],"events":[]}`, `{"events":[],"x":1}`, `{"x":1,"events":[]}`,
		`{"\u0065vents":[]}`, `{"Events":[]}`, `{"events" []}`, `{"events":[,]}`, `{"events":[`+good+`,]}`,
		`{"events":[,`+good+`]}`, `{"events":[`+good+` `+good+`]}`, `{"events":[`+good+`,,`+good+`]}`,
		`{"events":[1,null,"x",[],{},true,-0,"\"]"]}`, `{"events":[1x]}`, `{"events":["a"b]}`, `{"events":[nul]}`,
		`{"events":[{"a":"]"}]}`, `{"events":[[{]}]]}`, "{\"events\":[\"\xff\"]}", "{\"events\":[\"\t\"]}",
		"{\"\xff\":1,\"events\":[]}", "{\"events\":[],\"\xff\":1}", "\xef\xbb\xbf{\"events\":[]}",
		"{\"events\":[\""+strings.Repeat("x", 100)+"\"]}", `{"events":[`+good+`]}`+"\x00",
		"{\f\"events\":[]}", "{\"events\"\f:[]}", "{\"events\":\f[]}", "{\"events\":[\f]}", "{\"events\":[]\f}",
		"{\"events\":[]}\f", "{\"events\":["+good+"\f,"+good+"]}", "{\"events\":["+good+",\f"+good+"]}")
	for _, depth := range []int{maxFastDepth - 1, maxFastDepth, maxFastDepth + 1, 9997, 9998, 9999} {
		add(`{"events":[` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + `]}`)
		add(`{"events":[` + good + `,{"task_output":` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + `}]}`)
	}
	for _, n := range []int{MaxBatch - 1, MaxBatch, MaxBatch + 1} {
		items := strings.TrimSuffix(strings.Repeat(good+",", n), ",")
		add(`{"events":[`+items+`]}`, `{"events":[`+items+`,1x]}`, `{"events":[`+strings.Repeat("{},", n)+`{}]}`)
	}
	return bodies
}
