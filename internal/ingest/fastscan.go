package ingest

// Byte-level helpers for the fast path (fastparse.go, fastbatch.go). The
// fast path never reports an error of its own: whenever these helpers meet
// something they do not read exactly as encoding/json does, they say "not
// mine" (false) and the slow path answers, with today's result or error.
// That is why none of them says what was wrong.

// maxFastDepth bounds nesting on the fast path. encoding/json refuses a
// body nested deeper than 10000 levels counted from the body, while
// json.Valid on one value (task_output, a batch item) counts from that
// value and cannot see the two or three levels around it. Far below the
// limit that difference cannot change an answer; deeper values are rare
// enough to leave to the slow path.
const maxFastDepth = 1000

// span is body[start:end].
type span struct{ start, end int }

// skipWS skips JSON whitespace, the same four bytes encoding/json allows.
func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// expect skips whitespace and then the byte c.
func expect(b []byte, i int, c byte) (int, bool) {
	i = skipWS(b, i)
	if i < len(b) && b[i] == c {
		return i + 1, true
	}
	return i, false
}

// plainString reads the string whose opening quote is b[i] and returns its
// content (without quotes) and the index after the closing quote. A string
// without escapes reads as its own bytes, so a span is its decoded value;
// a backslash (an escape to decode) or a control character (not JSON) is
// not mine. Bytes from 0x80 pass: callers check UTF-8 once for the whole
// event, as one pass is cheaper than one per string.
func plainString(b []byte, i int) (span, int, bool) {
	start := i + 1
	for j := start; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return span{start, j}, j + 1, true
		case c == '\\' || c < 0x20:
			return span{}, 0, false
		}
	}
	return span{}, 0, false
}

// skipString returns the index after the string whose opening quote is
// b[i], stepping over escapes. It does not check the string: callers run
// json.Valid on the value that holds it.
func skipString(b []byte, i int) (int, bool) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++ // the escaped byte cannot end the string
		case '"':
			return j + 1, true
		}
	}
	return 0, false
}

// skipValue returns the end of the value starting at b[i] without checking
// that it is valid JSON; callers check the span with json.Valid. That is
// enough: when json.Valid accepts b[i:end], encoding/json reading from b[i]
// reads that same value and stops at end (an object, array or string ends
// where its brackets or quotes close; a number or literal runs up to the
// delimiter, as encoding/json reads it too).
func skipValue(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch b[i] {
	case '{', '[':
		return skipComposite(b, i)
	case '"':
		return skipString(b, i)
	}
	j := i
	for ; j < len(b); j++ {
		switch b[j] {
		case ' ', '\t', '\n', '\r', ',', ']', '}':
			return j, j > i
		}
	}
	return j, j > i
}

// skipComposite returns the index after the object or array opening at
// b[i], counting brackets outside strings; mismatched kinds ({]) are left
// to json.Valid. Deeper than maxFastDepth is not mine.
func skipComposite(b []byte, i int) (int, bool) {
	depth := 0
	for j := i; j < len(b); j++ {
		switch b[j] {
		case '{', '[':
			depth++
			if depth > maxFastDepth {
				return 0, false
			}
		case '}', ']':
			depth--
			if depth == 0 {
				return j + 1, true
			}
		case '"':
			end, ok := skipString(b, j)
			if !ok {
				return 0, false
			}
			j = end - 1
		}
	}
	return 0, false
}
