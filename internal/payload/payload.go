// Package payload renders the exact body of a webhook delivery (SPEC §5).
//
// The body is rendered once, when the event is ingested, and stored; every
// attempt and every redelivery sends those same bytes, and the signature is
// computed over them. Rendering is therefore done by hand rather than with
// encoding/json's struct encoder, which escapes <, > and & and would need a
// map (re-ordering keys) or a decoded value (re-spelling numbers) for
// task_output. Here:
//
//   - the six fields are written in their fixed order, compact;
//   - strings are escaped as encoding/json does, minus HTML escaping;
//   - task_output is passed through json.Compact, so its key order and the
//     spelling of its numbers are exactly what the ingest received;
//   - the timestamp is normalised to UTC whole seconds, RFC 3339 with "Z".
package payload

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// overhead is the size of everything in a body except the variable values.
const overhead = len(`{"event_type":"","task_id":"","task_status":"","task_output":,"task_error":"","timestamp":""}`) +
	36 + len("2006-01-02T15:04:05Z")

// Render returns the delivery body:
//
//	{"event_type":…,"task_id":…,"task_status":…,"task_output":…,"task_error":…,"timestamp":…}
//
// An empty taskOutput renders as null. It fails when taskOutput is not one
// valid JSON value in UTF-8, or when ts falls outside the years 0000–9999
// that RFC 3339 can write.
func Render(eventType string, taskID uuid.UUID, taskStatus string, taskOutput json.RawMessage, taskError string, ts time.Time) ([]byte, error) {
	ts = ts.UTC().Truncate(time.Second)
	if year := ts.Year(); year < 0 || year > 9999 {
		return nil, fmt.Errorf("payload: timestamp year %d outside 0000-9999", year)
	}
	if !utf8.Valid(taskOutput) {
		return nil, errors.New("payload: task_output is not valid UTF-8")
	}

	buf := make([]byte, 0, overhead+len(eventType)+len(taskStatus)+len(taskOutput)+len(taskError))
	buf = append(buf, `{"event_type":`...)
	buf = appendString(buf, eventType)
	buf = append(buf, `,"task_id":"`...)
	buf = appendUUID(buf, taskID)
	buf = append(buf, `","task_status":`...)
	buf = appendString(buf, taskStatus)
	buf = append(buf, `,"task_output":`...)
	if len(taskOutput) == 0 {
		buf = append(buf, "null"...)
	} else {
		out := bytes.NewBuffer(buf)
		if err := json.Compact(out, taskOutput); err != nil {
			return nil, fmt.Errorf("payload: task_output is not valid JSON: %w", err)
		}
		buf = out.Bytes()
	}
	buf = append(buf, `,"task_error":`...)
	buf = appendString(buf, taskError)
	buf = append(buf, `,"timestamp":"`...)
	buf = ts.AppendFormat(buf, time.RFC3339)
	buf = append(buf, `"}`...)
	return buf, nil
}

// appendUUID appends id in its canonical 8-4-4-4-12 form.
func appendUUID(dst []byte, id uuid.UUID) []byte {
	dst = hex.AppendEncode(dst, id[0:4])
	dst = append(dst, '-')
	dst = hex.AppendEncode(dst, id[4:6])
	dst = append(dst, '-')
	dst = hex.AppendEncode(dst, id[6:8])
	dst = append(dst, '-')
	dst = hex.AppendEncode(dst, id[8:10])
	dst = append(dst, '-')
	return hex.AppendEncode(dst, id[10:16])
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, byte for byte what encoding/json
// writes with SetEscapeHTML(false): quote, backslash and control characters
// escaped (short forms where JSON has them), invalid UTF-8 replaced by
// U+FFFD, and U+2028/U+2029 escaped so the body is also safe to embed in
// JavaScript. Everything else, <, > and & included, is written as is.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0 // s[start:i] is pending, to be copied unchanged
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
