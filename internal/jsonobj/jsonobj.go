// Package jsonobj decodes a JSON object field by field, so that every error
// names its field, unknown fields are refused (SPEC §1), absent can be told
// from present, and null is never mistaken for "clear this field".
//
// encoding/json silently turns invalid UTF-8 inside strings into U+FFFD;
// RFC 8259 §8.1 says such a body is not JSON text. Decode therefore checks
// the raw bytes of every field first and names the field holding the bad
// byte, so nothing downstream ever sees a replaced (or an invalid) string.
package jsonobj

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// Error is invalid input; Field is empty when the body as a whole is wrong.
type Error struct {
	Field string
	Msg   string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

// Errorf builds an Error for a field.
func Errorf(field, format string, args ...any) *Error {
	return &Error{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Object is a decoded JSON object whose fields are taken one by one.
type Object map[string]json.RawMessage

// Decode parses body as exactly one JSON object, rejects invalid UTF-8
// anywhere in it (naming the field), and rejects any key not in allowed.
func Decode(body []byte, allowed ...string) (Object, error) {
	return decode(body, "", allowed)
}

// DecodeEnvelope is Decode for a body whose field items is a list of
// objects that are decoded one by one afterwards, each with Decode: invalid
// UTF-8 inside items is left to that decoding, so that it is reported for
// the one item that holds it (a batch accepts its other items).
func DecodeEnvelope(body []byte, items string, allowed ...string) (Object, error) {
	return decode(body, items, allowed)
}

// MsgInvalidUTF8 is the message for a field holding a byte sequence that is
// not UTF-8.
const MsgInvalidUTF8 = "is not valid UTF-8 (RFC 8259 §8.1)"

func decode(body []byte, items string, allowed []string) (Object, error) {
	var obj Object
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&obj); err != nil || obj == nil {
		var typeErr *json.UnmarshalTypeError
		if (err == nil && obj == nil) || asTypeErr(err, &typeErr) {
			return nil, &Error{Msg: "request body must be a JSON object"}
		}
		return nil, &Error{Msg: "request body is not valid JSON"}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &Error{Msg: "request body must be a single JSON object"}
	}
	if err := checkUTF8(body, obj, items); err != nil {
		return nil, err
	}
	var unknown []string
	for k := range obj {
		if !slices.Contains(allowed, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return nil, keyError(unknown[0], "unknown field")
	}
	return obj, nil
}

// checkUTF8 names the first field (in key order) whose raw value is not
// UTF-8. The decoder has already replaced bad bytes in keys, so when no value
// holds the bad byte a key does.
func checkUTF8(body []byte, obj Object, items string) error {
	if utf8.Valid(body) {
		return nil
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	itemsInvalid := false
	for _, k := range keys {
		if utf8.Valid(obj[k]) {
			continue
		}
		if k == items && items != "" {
			itemsInvalid = true
			continue
		}
		return keyError(k, MsgInvalidUTF8)
	}
	if itemsInvalid {
		// The bad bytes may all be in items (checked per item later), but a
		// key may hold one too: look at the body without the items value.
		if utf8.Valid(withoutField(body, obj, items)) {
			return nil
		}
	}
	// A key, or an earlier value of a repeated key, holds the bad byte.
	return &Error{Msg: "request body " + MsgInvalidUTF8}
}

// keyError is an Error about a key the client sent; the empty key gets a
// message that still says where the problem is.
func keyError(key, msg string) *Error {
	if key == "" {
		return &Error{Msg: `request body: field "": ` + msg}
	}
	return &Error{Field: key, Msg: msg}
}

// withoutField returns body minus the first occurrence of the raw bytes of
// obj[field]. The decoder keeps raw values byte for byte, so the bytes are
// found; should an earlier, equal run of bytes be cut instead, the real
// value is left in place and the caller still sees the body as invalid.
func withoutField(body []byte, obj Object, field string) []byte {
	raw := obj[field]
	i := bytes.Index(body, raw)
	if i < 0 {
		return body
	}
	out := make([]byte, 0, len(body)-len(raw))
	out = append(out, body[:i]...)
	return append(out, body[i+len(raw):]...)
}

func asTypeErr(err error, target **json.UnmarshalTypeError) bool {
	t, ok := err.(*json.UnmarshalTypeError)
	if ok {
		*target = t
	}
	return ok
}

// Has reports whether the field is present (even as null).
func (o Object) Has(field string) bool {
	_, ok := o[field]
	return ok
}

// IsNull reports whether the field is present and null.
func (o Object) IsNull(field string) bool {
	raw, ok := o[field]
	return ok && string(bytes.TrimSpace(raw)) == "null"
}

// Get decodes a present field into dst; null or a value of the wrong type is
// an Error naming the field. It reports whether the field was present.
func (o Object) Get(field string, dst any) (bool, error) {
	raw, ok := o[field]
	if !ok {
		return false, nil
	}
	if o.IsNull(field) {
		return true, Errorf(field, "must not be null")
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return true, Errorf(field, "must be %s", describe(dst))
	}
	return true, nil
}

// Required is Get for a field that must be present.
func (o Object) Required(field string, dst any) error {
	ok, err := o.Get(field, dst)
	if err == nil && !ok {
		err = Errorf(field, "is required")
	}
	return err
}

func describe(dst any) string {
	switch dst.(type) {
	case *string:
		return "a string"
	case *[]string:
		return "an array of strings"
	case *int:
		return "an integer"
	case *bool:
		return "a boolean"
	case *[]json.RawMessage:
		return "an array"
	default:
		return "a valid value"
	}
}

// CheckName applies the rule for display names (webhooks, credentials,
// teams): 1 to max characters of valid UTF-8 without NUL. PostgreSQL text
// cannot hold NUL (SQLite can), so refusing it keeps both stores alike and
// keeps a 5xx out of reach; a name has no use for it.
func CheckName(field, name string, max int) error {
	switch {
	case !utf8.ValidString(name):
		return Errorf(field, MsgInvalidUTF8)
	case strings.ContainsRune(name, 0):
		return Errorf(field, "must not contain NUL (U+0000)")
	}
	if n := utf8.RuneCountInString(name); n < 1 || n > max {
		return Errorf(field, "must be 1 to %d characters", max)
	}
	return nil
}
