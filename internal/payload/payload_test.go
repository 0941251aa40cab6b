package payload

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hookd/hookd/webhooksig"
	"pgregory.net/rapid"
)

var (
	specTaskID = uuid.MustParse("019c65a0-aaaa-7bbb-cccc-dddddddddddd")
	specTime   = time.Date(2026, 2, 16, 9, 0, 0, 0, time.UTC)
)

func mustRender(t *testing.T, eventType, status string, output json.RawMessage, taskError string, ts time.Time) string {
	t.Helper()
	body, err := Render(eventType, specTaskID, status, output, taskError, ts)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	return string(body)
}

// The second signature vector of SPEC §5 is a body hookd must produce from
// these inputs, byte for byte, with the documented signature.
func TestRenderReproducesSpecVector(t *testing.T) {
	const want = `{"event_type":"task.completed","task_id":"019c65a0-aaaa-7bbb-cccc-dddddddddddd","task_status":"completed","task_output":{"storage_key":"tasks/019c65a0-aaaa-7bbb-cccc-dddddddddddd/output.png","image_count":1},"task_error":"","timestamp":"2026-02-16T09:00:00Z"}`
	// task_output as the ingest received it, with the spacing of SPEC §4.
	output := json.RawMessage(`{"storage_key": "tasks/019c65a0-aaaa-7bbb-cccc-dddddddddddd/output.png", "image_count": 1}`)
	got := mustRender(t, "task.completed", "completed", output, "", specTime)
	if got != want {
		t.Fatalf("Render =\n%s\nwant\n%s", got, want)
	}
	const signature = "sha256=813316105b145e7293937c3a2bc1d398a166f47c569b7c0cd9fd76b04b03ac4c"
	if sig := webhooksig.Sign("whsec_a1b2c3d4e5f6g7h8i9j0", []byte(got)); sig != signature {
		t.Errorf("signature %s, want %s", sig, signature)
	}
}

func TestRender(t *testing.T) {
	plus2 := time.FixedZone("+02:00", 2*60*60)
	minus330 := time.FixedZone("-03:30", -(3*60+30)*60)
	const prefix = `{"event_type":"task.completed","task_id":"019c65a0-aaaa-7bbb-cccc-dddddddddddd","task_status":"completed","task_output":`
	cases := []struct {
		name      string
		output    string
		taskError string
		ts        time.Time
		want      string // the body after prefix
	}{
		{name: "null output", output: "null", want: `null,"task_error":"","timestamp":"2026-02-16T09:00:00Z"}`},
		{name: "HTML characters kept", output: `{"html":"<b>&amp;</b>"}`, taskError: `a<b>&c`,
			want: `{"html":"<b>&amp;</b>"},"task_error":"a<b>&c","timestamp":"2026-02-16T09:00:00Z"}`},
		{name: "key order kept", output: `{"z":1,"a":2,"m":{"y":true,"b":null}}`,
			want: `{"z":1,"a":2,"m":{"y":true,"b":null}},"task_error":"","timestamp":"2026-02-16T09:00:00Z"}`},
		{name: "duplicate keys kept", output: `{"a":1,"a":2}`,
			want: `{"a":1,"a":2},"task_error":"","timestamp":"2026-02-16T09:00:00Z"}`},
		{name: "numbers unchanged", output: `[12345678901234567890, 1.0e3, -0.0, 1E400, 0.1000]`,
			want: `[12345678901234567890,1.0e3,-0.0,1E400,0.1000],"task_error":"","timestamp":"2026-02-16T09:00:00Z"}`},
		{name: "whitespace compacted", output: "\r\n {\n  \"a\" :\t[ 1 , \"x y\" ] ,\"b\":{ }\n}\n",
			want: `{"a":[1,"x y"],"b":{}},"task_error":"","timestamp":"2026-02-16T09:00:00Z"}`},
		{name: "escapes inside output kept", output: `{"s":"line\nnext \u003c \"q\" \u2028"}`,
			want: `{"s":"line\nnext \u003c \"q\" \u2028"},"task_error":"","timestamp":"2026-02-16T09:00:00Z"}`},
		{name: "timezone normalised", output: "{}", ts: time.Date(2026, 2, 16, 11, 0, 0, 0, plus2),
			want: `{},"task_error":"","timestamp":"2026-02-16T09:00:00Z"}`},
		{name: "negative offset crossing midnight", output: "{}", ts: time.Date(2026, 2, 16, 22, 0, 0, 0, minus330),
			want: `{},"task_error":"","timestamp":"2026-02-17T01:30:00Z"}`},
		{name: "sub-second truncated, not rounded", output: "{}", ts: time.Date(2026, 2, 16, 9, 0, 59, 999_999_999, time.UTC),
			want: `{},"task_error":"","timestamp":"2026-02-16T09:00:59Z"}`},
		{name: "task_error escaped", output: "{}", taskError: "quote \" back \\ nl \n tab \t cr \r bs \b ff \f bell \a del \x7f nul \x00 ls \u2028 ps \u2029 bad \xff é 🚀",
			want: `{},"task_error":"quote \" back \\ nl \n tab \t cr \r bs \b ff \f bell \u0007 del ` + "\x7f" + ` nul \u0000 ls \u2028 ps \u2029 bad \ufffd é 🚀","timestamp":"2026-02-16T09:00:00Z"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := tc.ts
			if ts.IsZero() {
				ts = specTime
			}
			got := mustRender(t, "task.completed", "completed", json.RawMessage(tc.output), tc.taskError, ts)
			if got != prefix+tc.want {
				t.Errorf("Render =\n%s\nwant\n%s", got, prefix+tc.want)
			}
		})
	}
}

func TestRenderFailedEvent(t *testing.T) {
	const want = `{"event_type":"task.failed","task_id":"019c65a0-aaaa-7bbb-cccc-dddddddddddd","task_status":"failed","task_output":null,"task_error":"agent lost: <node-7> & co","timestamp":"2026-02-16T09:00:00Z"}`
	for _, output := range []json.RawMessage{nil, {}, json.RawMessage("null")} {
		if got := mustRender(t, "task.failed", "failed", output, "agent lost: <node-7> & co", specTime); got != want {
			t.Errorf("Render(output %q) =\n%s\nwant\n%s", output, got, want)
		}
	}
}

func TestRenderRejectsInvalidInput(t *testing.T) {
	for _, output := range []string{`{"a":`, `{} {}`, `{}x`, `{'a':1}`, `nope`, `  `, `{"a":01}`, "{\"a\":\"\xff\"}", `{"a":NaN}`} {
		if body, err := Render("task.completed", specTaskID, "completed", json.RawMessage(output), "", specTime); err == nil {
			t.Errorf("Render(output %q) = %s, want an error", output, body)
		}
	}
	for _, ts := range []time.Time{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)} {
		if body, err := Render("task.completed", specTaskID, "completed", nil, "", ts); err == nil {
			t.Errorf("Render(ts %v) = %s, want an error", ts, body)
		}
	}
}

// encodingJSONString is the reference appendString must match.
func encodingJSONString(t *rapid.T, s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatalf("encoding/json: %v", err)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

func TestPropertyStringsMatchEncodingJSON(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var s string
		if rapid.Bool().Draw(t, "bytes") {
			s = string(rapid.SliceOf(rapid.Byte()).Draw(t, "raw"))
		} else {
			s = rapid.String().Draw(t, "string")
		}
		if got, want := string(appendString(nil, s)), encodingJSONString(t, s); got != want {
			t.Fatalf("appendString(%q) = %s, encoding/json writes %s", s, got, want)
		}
	})
}

var sixKeys = []string{"event_type", "task_id", "task_status", "task_output", "task_error", "timestamp"}

func TestPropertyRenderIsJSONWithSixKeysInOrder(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		eventType := rapid.SampledFrom([]string{"task.completed", "task.failed", "webhook.test"}).Draw(t, "event")
		taskID := uuid.UUID(rapid.SliceOfN(rapid.Byte(), 16, 16).Draw(t, "id"))
		taskError := rapid.String().Draw(t, "error")
		output := json.RawMessage(rapid.SampledFrom([]string{"", "null", `{"k":[1,2.50,"<&>"]}`, ` [ ] `, `"s"`}).Draw(t, "output"))
		ts := time.Unix(rapid.Int64Range(-62135596800, 253402300799).Draw(t, "unix"), rapid.Int64Range(0, 999_999_999).Draw(t, "nanos"))

		body, err := Render(eventType, taskID, "completed", output, taskError, ts)
		if err != nil {
			t.Fatalf("Render: %v", err)
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
			t.Fatalf("body %s does not start an object: %v %v", body, tok, err)
		}
		values := map[string]json.RawMessage{}
		for i := 0; dec.More(); i++ {
			key, err := dec.Token()
			if err != nil {
				t.Fatalf("body %s: %v", body, err)
			}
			if i >= len(sixKeys) || key != sixKeys[i] {
				t.Fatalf("key %d is %v, want the order %v", i, key, sixKeys)
			}
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("body %s: %v", body, err)
			}
			values[sixKeys[i]] = v
		}
		if len(values) != len(sixKeys) {
			t.Fatalf("body %s has %d keys, want 6", body, len(values))
		}
		if _, err := dec.Token(); err != nil {
			t.Fatalf("body %s not closed: %v", body, err)
		}
		if _, err := dec.Token(); err != io.EOF {
			t.Fatalf("body %s has trailing data", body)
		}

		var gotError, gotID, gotTime string
		json.Unmarshal(values["task_error"], &gotError)
		json.Unmarshal(values["task_id"], &gotID)
		json.Unmarshal(values["timestamp"], &gotTime)
		if gotError != taskError {
			t.Fatalf("task_error round-trips as %q, want %q", gotError, taskError)
		}
		if gotID != taskID.String() {
			t.Fatalf("task_id %s, want %s", gotID, taskID)
		}
		if want := ts.UTC().Truncate(time.Second).Format(time.RFC3339); gotTime != want || !strings.HasSuffix(gotTime, "Z") {
			t.Fatalf("timestamp %s, want %s", gotTime, want)
		}
	})
}

func BenchmarkRender(b *testing.B) {
	b.ReportAllocs()
	output := json.RawMessage(`{"storage_key": "tasks/019c65a0-aaaa-7bbb-cccc-dddddddddddd/output.png", "image_count": 1}`)
	for b.Loop() {
		if _, err := Render("task.completed", specTaskID, "completed", output, "", specTime); err != nil {
			b.Fatal(err)
		}
	}
}
