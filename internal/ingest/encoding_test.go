package ingest_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/hookd/hookd/internal/ingest"
	"github.com/hookd/hookd/internal/jsonobj"
)

// Go callers of Service.Ingest skip Parse: Validate must refuse what
// payload.Render cannot render (it used to fail there, a 500 over HTTP).
func TestValidateRefusesInvalidUTF8FromGoCallers(t *testing.T) {
	team, task := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	for _, c := range []struct {
		ev    ingest.TaskEvent
		field string
	}{
		{ingest.TaskEvent{TeamID: team, TaskID: task, TaskStatus: "failed", TaskError: "\xff"}, "task_error"},
		{ingest.TaskEvent{TeamID: team, TaskID: task, TaskStatus: "completed", TaskOutput: json.RawMessage("{\"a\":\"\xc3\"}")}, "task_output"},
		{ingest.TaskEvent{TeamID: team, TaskID: task, TaskStatus: "failed", TaskError: "nul \x00 is fine"}, ""},
	} {
		err := ingest.Validate(c.ev)
		var fe *jsonobj.Error
		switch {
		case c.field == "" && err != nil:
			t.Errorf("%+v refused: %v", c.ev, err)
		case c.field != "" && (!errors.As(err, &fe) || fe.Field != c.field):
			t.Errorf("%+v: %v, want an error naming %s", c.ev, err, c.field)
		}
	}
}

func TestParseBatch(t *testing.T) {
	team := uuid.Must(uuid.NewV7()).String()
	event := func(taskError string) string {
		return `{"team_id":"` + team + `","task_id":"` + uuid.Must(uuid.NewV7()).String() +
			`","task_status":"failed","task_error":"` + taskError + `"}`
	}
	events, errs, err := ingest.ParseBatch([]byte(`{"events":[` + event("ok") + `,` + event("\xff") + `,"x",` + event(`\u0000`) + `]}`))
	if err != nil || len(events) != 4 || len(errs) != 4 {
		t.Fatalf("ParseBatch: %d events, %d errs, %v", len(events), len(errs), err)
	}
	for i, want := range []string{"", "events[1]: task_error: is not valid UTF-8", "events[2]: request body must be a JSON object", ""} {
		got := ""
		if errs[i] != nil {
			got = ingest.ItemError(i, errs[i])
		}
		if !strings.HasPrefix(got, want) || (want == "") != (got == "") {
			t.Errorf("item %d: %q, want %q", i, got, want)
		}
	}
	if events[3].TaskError != "\x00" {
		t.Errorf("NUL not kept: %q", events[3].TaskError)
	}
	for _, c := range []struct{ body, want string }{
		{`{}`, "events: is required"},
		{`{"events":{}}`, "events: must be an array"},
		{`{"events":[],"x":1}`, "x: unknown field"},
		{"{\"\xff\":1,\"events\":[]}", "request body is not valid UTF-8 (RFC 8259 §8.1)"},
		{`{"events":[` + strings.Repeat(`{},`, ingest.MaxBatch) + `{}]}`, "events: at most 1000 events per batch (got 1001)"},
	} {
		if _, _, err := ingest.ParseBatch([]byte(c.body)); err == nil || err.Error() != c.want {
			t.Errorf("ParseBatch(%.40q): %v, want %q", c.body, err, c.want)
		}
	}
}
