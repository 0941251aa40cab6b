package ingest

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/hookd/hookd/internal/jsonobj"
)

var eventFields = []string{"team_id", "task_id", "task_status", "task_output", "task_error", "timestamp"}

// Parse decodes one event as the ingest API receives it. Unknown fields,
// wrong types and malformed ids are errors naming the field.
//
// The common shape is decoded by parseFast; anything else, and every
// refused event, by parseSlow, so that answers never depend on the path.
func Parse(body []byte) (TaskEvent, error) {
	if ev, ok := parseFast(body); ok {
		return ev, nil
	}
	return parseSlow(body)
}

// parseSlow is Parse through jsonobj: the reference for every answer
// (parseFast must agree with it byte for byte, see fastparse_test.go).
func parseSlow(body []byte) (TaskEvent, error) {
	obj, err := jsonobj.Decode(body, eventFields...)
	if err != nil {
		return TaskEvent{}, err
	}
	var ev TaskEvent
	var teamID, taskID, ts string
	if err := obj.Required("team_id", &teamID); err != nil {
		return ev, err
	}
	if ev.TeamID, err = parseUUID("team_id", teamID); err != nil {
		return ev, err
	}
	if err := obj.Required("task_id", &taskID); err != nil {
		return ev, err
	}
	if ev.TaskID, err = parseUUID("task_id", taskID); err != nil {
		return ev, err
	}
	if err := obj.Required("task_status", &ev.TaskStatus); err != nil {
		return ev, err
	}
	if obj.Has("task_output") && !obj.IsNull("task_output") {
		ev.TaskOutput = obj["task_output"]
	}
	if obj.Has("task_error") && !obj.IsNull("task_error") {
		if _, err := obj.Get("task_error", &ev.TaskError); err != nil {
			return ev, err
		}
	}
	if obj.Has("timestamp") && !obj.IsNull("timestamp") {
		if _, err := obj.Get("timestamp", &ts); err != nil {
			return ev, err
		}
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			return ev, jsonobj.Errorf("timestamp", "must be an RFC 3339 date-time such as 2026-02-16T09:00:00Z")
		}
		ev.Timestamp = t
	}
	return ev, Validate(ev)
}

// ParseBatch decodes a batch body {"events": [...]} as the batch API
// receives it. An error is for the body as a whole (400 for all of it);
// otherwise events and errs have one entry per item, in input order, and
// errs[i] (naming the field, without the index) is set when item i is not a
// valid event. Invalid UTF-8 inside one item fails only that item.
//
// As with Parse, parseBatchFast takes the common shape and parseBatchSlow
// everything else.
func ParseBatch(body []byte) (events []TaskEvent, errs []error, err error) {
	if events, errs, ok := parseBatchFast(body); ok {
		return events, errs, nil
	}
	return parseBatchSlow(body)
}

// parseBatchSlow is ParseBatch through jsonobj, the reference for
// parseBatchFast.
func parseBatchSlow(body []byte) (events []TaskEvent, errs []error, err error) {
	obj, err := jsonobj.DecodeEnvelope(body, "events", "events")
	if err != nil {
		return nil, nil, err
	}
	var raws []json.RawMessage
	if err := obj.Required("events", &raws); err != nil {
		return nil, nil, err
	}
	if len(raws) > MaxBatch {
		return nil, nil, jsonobj.Errorf("events", "at most %d events per batch (got %d)", MaxBatch, len(raws))
	}
	events = make([]TaskEvent, len(raws))
	errs = make([]error, len(raws))
	for i, raw := range raws {
		events[i], errs[i] = parseSlow(raw)
	}
	return events, errs, nil
}

// ItemError prefixes an item's error with its index in the batch, as the
// batch answers name it: "events[3]: task_error: ...".
func ItemError(i int, err error) string {
	return "events[" + strconv.Itoa(i) + "]: " + err.Error()
}

// Validate applies SPEC §4's rules to an event, however it arrived.
func Validate(ev TaskEvent) error {
	switch {
	case ev.TeamID == uuid.Nil:
		return jsonobj.Errorf("team_id", "is required")
	case ev.TaskID == uuid.Nil:
		return jsonobj.Errorf("task_id", "is required")
	case !utf8.ValidString(ev.TaskError):
		// Go callers can hand over any bytes; the body must be UTF-8 JSON.
		return jsonobj.Errorf("task_error", jsonobj.MsgInvalidUTF8)
	case !utf8.Valid(ev.TaskOutput):
		return jsonobj.Errorf("task_output", jsonobj.MsgInvalidUTF8)
	}
	switch ev.TaskStatus {
	case "completed":
		if ev.TaskError != "" {
			return jsonobj.Errorf("task_error", "must be empty when task_status is completed")
		}
		trimmed := bytes.TrimSpace(ev.TaskOutput)
		if len(trimmed) == 0 || trimmed[0] != '{' || !json.Valid(trimmed) {
			return jsonobj.Errorf("task_output", "must be a JSON object when task_status is completed")
		}
	case "failed":
		if ev.TaskError == "" {
			return jsonobj.Errorf("task_error", "must give the reason when task_status is failed")
		}
		if t := bytes.TrimSpace(ev.TaskOutput); len(t) != 0 && string(t) != "null" {
			return jsonobj.Errorf("task_output", "must be null when task_status is failed")
		}
	default:
		return jsonobj.Errorf("task_status", "must be completed or failed")
	}
	if !ev.Timestamp.IsZero() && (ev.Timestamp.Year() < 1 || ev.Timestamp.UTC().Year() > 9999) {
		return jsonobj.Errorf("timestamp", "is out of range")
	}
	return nil
}

func parseUUID(field, s string) (uuid.UUID, error) {
	id, err := uuid.Parse(s)
	if err != nil || len(s) != 36 {
		return uuid.Nil, jsonobj.Errorf(field, "must be a UUID")
	}
	if id == uuid.Nil {
		return uuid.Nil, jsonobj.Errorf(field, "must not be the nil UUID")
	}
	return id, nil
}
