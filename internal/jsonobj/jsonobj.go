// Package jsonobj decodes a JSON object field by field, so that every error
// names its field, unknown fields are refused (SPEC §1), absent can be told
// from present, and null is never mistaken for "clear this field".
package jsonobj

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
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

// Decode parses body as exactly one JSON object and rejects any key not in
// allowed.
func Decode(body []byte, allowed ...string) (Object, error) {
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
	var unknown []string
	for k := range obj {
		if !slices.Contains(allowed, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return nil, &Error{Field: unknown[0], Msg: "unknown field"}
	}
	return obj, nil
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
