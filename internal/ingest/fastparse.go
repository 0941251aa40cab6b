package ingest

import (
	"bytes"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// The fast path for one event. parseSlow (jsonobj) decodes the body into a
// map, unmarshals each field again and allocates for every key and value:
// some 40 allocations an event. Almost every event the task runtime sends
// has one shape, which this file reads in one pass with a few allocations:
//
//   - one JSON object, whitespace around it and between tokens allowed;
//   - only the six known keys, each at most once, spelled without escapes;
//   - team_id, task_id, task_status: strings; task_error, timestamp:
//     strings or null; task_output: an object or null;
//   - strings without escapes or control characters, so their bytes are
//     their values;
//   - valid UTF-8 throughout;
//   - and the event passes Validate: parseFast only ever accepts.
//
// Anything else is not mine and goes to parseSlow, which alone produces
// errors; so an error or a result never depends on which path ran.

// Field indexes of an event, bit numbers in eventSpans.
const (
	fTeamID = iota
	fTaskID
	fStatus
	fOutput
	fError
	fTimestamp
	nFields
)

// eventSpans is where one event's fields are in the body.
type eventSpans struct {
	seen uint8         // bit f: field f is present
	null uint8         // bit f: field f is null
	val  [nFields]span // a string's content, or task_output's raw value
}

func fieldOf(key []byte) int {
	switch string(key) { // no allocation: the compiler compares in place
	case "team_id":
		return fTeamID
	case "task_id":
		return fTaskID
	case "task_status":
		return fStatus
	case "task_output":
		return fOutput
	case "task_error":
		return fError
	case "timestamp":
		return fTimestamp
	}
	return -1
}

// scanEvent reads the object whose opening brace is b[i] and returns where
// its fields are and the index after its closing brace. It checks the
// object's syntax itself, except inside task_output, whose span is found
// by skipComposite and whose syntax Validate checks with json.Valid (a
// completed event's output must be a valid object; a failed one's null).
func scanEvent(b []byte, i int) (sp eventSpans, end int, ok bool) {
	if i >= len(b) || b[i] != '{' {
		return sp, 0, false
	}
	i = skipWS(b, i+1)
	for {
		// An empty object, or a comma before the brace, is not mine.
		if i >= len(b) || b[i] != '"' {
			return sp, 0, false
		}
		key, next, ok := plainString(b, i)
		if !ok {
			return sp, 0, false
		}
		f := fieldOf(b[key.start:key.end])
		// A repeated key is not mine: encoding/json keeps the last value
		// but jsonobj checks UTF-8 in the earlier ones too.
		if f < 0 || sp.seen&(1<<f) != 0 {
			return sp, 0, false
		}
		sp.seen |= 1 << f
		if i, ok = expect(b, next, ':'); !ok {
			return sp, 0, false
		}
		if i = skipWS(b, i); i >= len(b) {
			return sp, 0, false
		}
		switch c := b[i]; {
		case c == '"' && f != fOutput:
			sp.val[f], i, ok = plainString(b, i)
		case c == 'n' && (f == fOutput || f == fError || f == fTimestamp):
			// A null required field is an error: the slow path's.
			ok = bytes.HasPrefix(b[i:], []byte("null"))
			sp.null |= 1 << f
			i += 4
		case c == '{' && f == fOutput:
			var vend int
			vend, ok = skipComposite(b, i)
			sp.val[f], i = span{i, vend}, vend
		default:
			ok = false
		}
		if !ok {
			return sp, 0, false
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return sp, 0, false
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			return sp, i + 1, true
		default:
			return sp, 0, false
		}
	}
}

// source is the body events are read from. parseSlow's events share no
// memory with the body (json.RawMessage and strings are copies), so the
// fast path copies too: each value an event keeps is its own copy, so an
// event holds only its own values. (One shared copy of the whole body per
// batch saved an allocation per event, but cost two more copies of every
// body while its events lived and was slower: 1.9 µs and 889 bytes per
// event against 1.3 µs and 395 bytes in BenchmarkParseBatch.)
type source struct {
	body []byte
}

func (s *source) str(sp span) string {
	return string(s.body[sp.start:sp.end])
}

func (s *source) bytes(sp span) []byte {
	return bytes.Clone(s.body[sp.start:sp.end])
}

// event reads the event whose opening brace is body[i]; end is the index
// after its closing brace. ok is false when the event is not in the fast
// shape or is invalid: then nothing is known and the slow path must run.
func (s *source) event(i int) (ev TaskEvent, end int, ok bool) {
	sp, end, ok := scanEvent(s.body, i)
	if !ok || !utf8.Valid(s.body[i:end]) {
		return TaskEvent{}, 0, false
	}
	ev, ok = s.build(&sp)
	return ev, end, ok
}

// build makes the event parseSlow makes from the same fields, or reports
// false wherever parseSlow would return an error.
func (s *source) build(sp *eventSpans) (TaskEvent, bool) {
	const required = 1<<fTeamID | 1<<fTaskID | 1<<fStatus
	var ev TaskEvent
	var ok bool
	if sp.seen&required != required {
		return ev, false
	}
	if ev.TeamID, ok = s.uuid(sp.val[fTeamID]); !ok {
		return ev, false
	}
	if ev.TaskID, ok = s.uuid(sp.val[fTaskID]); !ok {
		return ev, false
	}
	// The two statuses Validate accepts, as constants: nothing to copy.
	switch st := sp.val[fStatus]; string(s.body[st.start:st.end]) {
	case "completed":
		ev.TaskStatus = "completed"
	case "failed":
		ev.TaskStatus = "failed"
	default:
		return ev, false
	}
	// Absent and null leave a field as its zero value, as in parseSlow.
	present := sp.seen &^ sp.null
	if present&(1<<fOutput) != 0 {
		ev.TaskOutput = s.bytes(sp.val[fOutput])
	}
	if e := sp.val[fError]; present&(1<<fError) != 0 && e.end > e.start {
		ev.TaskError = s.str(e)
	}
	if present&(1<<fTimestamp) != 0 {
		t, err := time.Parse(time.RFC3339Nano, s.str(sp.val[fTimestamp]))
		if err != nil {
			return ev, false
		}
		ev.Timestamp = t
	}
	return ev, Validate(ev) == nil
}

// uuid is parseUUID's accepting case: the canonical 36-byte form (which
// uuid.ParseBytes reads exactly as uuid.Parse) and not the nil UUID.
func (s *source) uuid(sp span) (uuid.UUID, bool) {
	b := s.body[sp.start:sp.end]
	if len(b) != 36 {
		return uuid.Nil, false
	}
	id, err := uuid.ParseBytes(b)
	return id, err == nil && id != uuid.Nil
}

// parseFast is Parse for a body holding one event in the fast shape; false
// means parseSlow must answer.
func parseFast(body []byte) (TaskEvent, bool) {
	s := source{body: body}
	i := skipWS(body, 0)
	sp, end, ok := scanEvent(body, i)
	// Only whitespace may follow the object, as jsonobj requires.
	if !ok || skipWS(body, end) != len(body) || !utf8.Valid(body[i:end]) {
		return TaskEvent{}, false
	}
	return s.build(&sp)
}
