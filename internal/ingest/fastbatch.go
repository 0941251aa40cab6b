package ingest

import (
	"bytes"
	"encoding/json"
)

// The fast path for a batch: {"events":[item, ...]} with "events" the only
// key, spelled without escapes, and at most MaxBatch items. The envelope is
// read in place (parseBatchSlow copies the body into a map, then the list
// into a slice of copies). Each item is read as in parseFast when it has
// the fast shape; any other item is handed to parseSlow alone, so one odd
// or invalid event costs only its own slow decoding.
//
// Whatever else (another key, "events" not a list, a body that is not JSON,
// too many items) is not mine: parseBatchSlow answers. jsonobj checks the
// syntax of the whole body before anything else, so an item's syntax error
// is the whole body's: items that are not read in the fast shape are
// checked with json.Valid, and one that fails sends the body to the slow
// path. jsonobj checks UTF-8 outside the items (here: only the ASCII read
// below) and leaves the items to their own decoding, as this does.

var eventsKey = []byte(`"events"`)

// parseBatchFast is ParseBatch for a body in the fast shape; false means
// parseBatchSlow must answer.
func parseBatchFast(body []byte) (events []TaskEvent, errs []error, ok bool) {
	i, ok := expect(body, 0, '{')
	if !ok {
		return nil, nil, false
	}
	i = skipWS(body, i)
	if !bytes.HasPrefix(body[i:], eventsKey) {
		return nil, nil, false
	}
	if i, ok = expect(body, i+len(eventsKey), ':'); !ok {
		return nil, nil, false
	}
	if i, ok = expect(body, i, '['); !ok {
		return nil, nil, false
	}
	// Never nil, even for no items: parseBatchSlow makes both with make.
	events, errs = make([]TaskEvent, 0), make([]error, 0)
	src := source{body: body}
	if i = skipWS(body, i); i < len(body) && body[i] == ']' {
		i++
	} else {
		for {
			if len(events) == MaxBatch {
				return nil, nil, false // the limit's error is parseBatchSlow's
			}
			ev, end, fast := src.event(i)
			var err error
			if !fast {
				if end, ok = skipValue(body, i); !ok || !json.Valid(body[i:end]) {
					return nil, nil, false
				}
				ev, err = parseSlow(body[i:end])
			}
			events, errs = append(events, ev), append(errs, err)
			i = skipWS(body, end)
			if i < len(body) && body[i] == ',' {
				i = skipWS(body, i+1)
				continue
			}
			if i < len(body) && body[i] == ']' {
				i++
				break
			}
			return nil, nil, false
		}
	}
	if i, ok = expect(body, i, '}'); !ok || skipWS(body, i) != len(body) {
		return nil, nil, false
	}
	return events, errs, true
}
