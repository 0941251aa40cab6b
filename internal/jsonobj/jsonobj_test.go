package jsonobj

import (
	"errors"
	"testing"
)

func TestDecode(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{`{"a":1}`, ""},
		{` {"a":1} `, ""},
		{`{"a":1,"zz":2,"b":3}`, "b: unknown field"}, // the first unknown, alphabetically
		{`[]`, "request body must be a JSON object"},
		{`null`, "request body must be a JSON object"},
		{`"x"`, "request body must be a JSON object"},
		{`{"a":`, "request body is not valid JSON"},
		{`{"a":1}{}`, "request body must be a single JSON object"},
		{``, "request body is not valid JSON"},
	} {
		_, err := Decode([]byte(c.body), "a")
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != c.want {
			t.Errorf("Decode(%q) = %q, want %q", c.body, got, c.want)
		}
	}
}

func TestGet(t *testing.T) {
	obj, err := Decode([]byte(`{"s":"x","n":3,"f":1.5,"null":null,"list":["a"]}`), "s", "n", "f", "null", "list", "absent")
	if err != nil {
		t.Fatal(err)
	}
	var s string
	var n int
	var list []string
	if ok, err := obj.Get("s", &s); !ok || err != nil || s != "x" {
		t.Fatal(ok, err, s)
	}
	if ok, err := obj.Get("n", &n); !ok || err != nil || n != 3 {
		t.Fatal(ok, err, n)
	}
	if ok, err := obj.Get("list", &list); !ok || err != nil || len(list) != 1 {
		t.Fatal(ok, err, list)
	}
	if ok, err := obj.Get("absent", &s); ok || err != nil {
		t.Fatal("absent must be (false, nil)")
	}
	for field, dst := range map[string]any{"f": &n, "s": &n, "n": &s, "null": &s} {
		var fe *Error
		if _, err := obj.Get(field, dst); !errors.As(err, &fe) || fe.Field != field {
			t.Errorf("Get(%s) = %v, want an error naming the field", field, err)
		}
	}
	if err := obj.Required("absent", &s); err == nil || err.Error() != "absent: is required" {
		t.Fatalf("Required: %v", err)
	}
	if !obj.Has("null") || !obj.IsNull("null") || obj.IsNull("s") || obj.Has("absent") {
		t.Fatal("Has/IsNull")
	}
}
