package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hookd/hookd/internal/jsonobj"
)

// The seed corpus is in testdata/fuzz/<FuzzName>/; `go test` replays it and
// scripts/fuzz.sh explores from it.

// FuzzParse: whatever the body, Parse answers with an event that passes
// Validate and renders, or with an error naming a field or the body; a body
// that is not UTF-8 is never accepted; an accepted event survives a round
// trip through its own JSON unchanged.
func FuzzParse(f *testing.F) {
	at := time.Date(2026, 2, 16, 9, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := Parse(body)
		if err != nil {
			requireNamedError(t, err)
			return
		}
		if !utf8.Valid(body) {
			t.Fatalf("body with invalid UTF-8 accepted: %q", body)
		}
		checkAccepted(t, ev, at)
	})
}

// FuzzParseBatch: the batch body is refused as a whole with a named error,
// or split into items each of which is exactly what Parse makes of it; bad
// bytes anywhere make the body or one of its items fail.
func FuzzParseBatch(f *testing.F) {
	at := time.Date(2026, 2, 16, 9, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		events, errs, err := ParseBatch(body)
		if err != nil {
			requireNamedError(t, err)
			return
		}
		if len(events) != len(errs) || len(events) > MaxBatch {
			t.Fatalf("%d events, %d errors (max %d)", len(events), len(errs), MaxBatch)
		}
		var env struct{ Events []json.RawMessage }
		if err := json.Unmarshal(body, &env); err != nil || len(env.Events) != len(events) {
			t.Fatalf("accepted batch does not decode to %d items: %v", len(events), err)
		}
		failed := false
		for i := range events {
			want, wantErr := Parse(env.Events[i])
			if (errs[i] == nil) != (wantErr == nil) || errs[i] != nil && errs[i].Error() != wantErr.Error() {
				t.Fatalf("item %d: batch error %v, Parse error %v", i, errs[i], wantErr)
			}
			if errs[i] != nil {
				failed = true
				requireNamedError(t, errs[i])
				if msg := ItemError(i, errs[i]); !strings.HasPrefix(msg, "events[") {
					t.Fatalf("item error %q does not name the index", msg)
				}
				continue
			}
			if !sameEvent(events[i], want) {
				t.Fatalf("item %d: batch made %+v, Parse %+v", i, events[i], want)
			}
			checkAccepted(t, events[i], at)
		}
		if !utf8.Valid(body) && !failed {
			t.Fatalf("batch with invalid UTF-8 accepted whole: %q", body)
		}
	})
}

// requireNamedError: a decode error is a *jsonobj.Error naming its field,
// or a message about the request body as a whole.
func requireNamedError(t *testing.T, err error) {
	t.Helper()
	var in *jsonobj.Error
	if !errors.As(err, &in) {
		t.Fatalf("error %T %v is not a *jsonobj.Error (would be a 500)", err, err)
	}
	if in.Field == "" && !strings.HasPrefix(in.Msg, "request body") {
		t.Fatalf("error %q names neither a field nor the body", in.Msg)
	}
	if !utf8.ValidString(err.Error()) {
		t.Fatalf("error message is not UTF-8: %q", err.Error())
	}
}

// checkAccepted: an accepted event re-validates, renders to the six-field
// body, holds no NUL-bearing text outside that body, and round-trips.
func checkAccepted(t *testing.T, ev TaskEvent, at time.Time) {
	t.Helper()
	if err := Validate(ev); err != nil {
		t.Fatalf("accepted event does not re-validate: %v", err)
	}
	row, err := prepare(ev, at)
	if err != nil {
		t.Fatalf("accepted event does not render: %v", err)
	}
	if !utf8.Valid(row.Body) || !json.Valid(row.Body) {
		t.Fatalf("rendered body is not UTF-8 JSON: %q", row.Body)
	}
	var got struct {
		EventType  string          `json:"event_type"`
		TaskID     string          `json:"task_id"`
		TaskStatus string          `json:"task_status"`
		TaskOutput json.RawMessage `json:"task_output"`
		TaskError  string          `json:"task_error"`
		Timestamp  string          `json:"timestamp"`
	}
	if err := json.Unmarshal(row.Body, &got); err != nil {
		t.Fatal(err)
	}
	if got.TaskID != ev.TaskID.String() || got.TaskStatus != ev.TaskStatus || got.TaskError != ev.TaskError ||
		got.EventType != "task."+ev.TaskStatus || row.EventType != got.EventType {
		t.Fatalf("rendered body %s does not match the event %+v", row.Body, ev)
	}
	// Only the enum and the ids reach text columns; everything free-form
	// is inside the body (bytea).
	if strings.ContainsRune(row.EventType+row.TaskStatus, 0) {
		t.Fatalf("NUL in a text column: %+v", row)
	}

	again, err := Parse(encodeEvent(t, ev))
	if err != nil {
		t.Fatalf("accepted event, re-encoded, is refused: %v", err)
	}
	if !sameEvent(again, ev) {
		t.Fatalf("round trip changed the event: %+v -> %+v", ev, again)
	}
}

func encodeEvent(t *testing.T, ev TaskEvent) []byte {
	t.Helper()
	m := map[string]any{
		"team_id": ev.TeamID.String(), "task_id": ev.TaskID.String(),
		"task_status": ev.TaskStatus, "task_error": ev.TaskError,
		"task_output": json.RawMessage("null"),
	}
	if len(ev.TaskOutput) > 0 {
		m["task_output"] = ev.TaskOutput
	}
	if !ev.Timestamp.IsZero() {
		m["timestamp"] = ev.Timestamp.Format(time.RFC3339Nano)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep task_output's bytes as they were
	if err := enc.Encode(m); err != nil {
		t.Fatalf("accepted event does not encode: %v", err)
	}
	return buf.Bytes()
}

func sameEvent(a, b TaskEvent) bool {
	return a.TeamID == b.TeamID && a.TaskID == b.TaskID && a.TaskStatus == b.TaskStatus &&
		a.TaskError == b.TaskError && a.Timestamp.Equal(b.Timestamp) &&
		bytes.Equal(compact(a.TaskOutput), compact(b.TaskOutput))
}

func compact(raw json.RawMessage) []byte {
	var buf bytes.Buffer
	if len(raw) == 0 || json.Compact(&buf, raw) != nil {
		return raw
	}
	if buf.String() == "null" {
		return nil
	}
	return buf.Bytes()
}
