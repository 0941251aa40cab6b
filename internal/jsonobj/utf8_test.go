package jsonobj

import (
	"strings"
	"testing"
)

// encoding/json would turn these bytes into U+FFFD and carry on; RFC 8259
// §8.1 says the body is not JSON text.
func TestDecodeRefusesInvalidUTF8(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{"{\"a\":\"\xff\xfe\"}", "a: is not valid UTF-8"},
		{"{\"a\":\"ok\",\"b\":[\"x\",{\"c\":\"\xc3\"}]}", "b: is not valid UTF-8"}, // nested: the top-level field
		{"{\"b\":\"\xed\xa0\x80\",\"a\":\"\xc0\xaf\"}", "a: is not valid UTF-8"},   // surrogate and overlong; first in key order
		{"{\"\xff\":1}", "request body is not valid UTF-8"},                        // in a key (the decoder replaced it)
		{"{\"a\":\"\xff\",\"a\":\"x\"}", "request body is not valid UTF-8"},        // in a value a repeated key overrode
		{"{\"zz\":\"\xff\"}", "zz: is not valid UTF-8"},                            // before the unknown-field check
		{"{\"\":\"\xff\"}", `request body: field "": is not valid UTF-8`},
		{"{\"\":1}", `request body: field "": unknown field`},
		{"{\"a\":\"caf\u00e9 \\u0000 \\ud800\"}", ""}, // valid UTF-8; escapes are not raw bytes
	} {
		_, err := Decode([]byte(c.body), "a", "b")
		got := ""
		if err != nil {
			got = err.Error()
		}
		if !strings.HasPrefix(got, c.want) || (c.want == "") != (got == "") {
			t.Errorf("Decode(%q) = %q, want %q", c.body, got, c.want)
		}
	}
}

// A batch's items are checked one by one later; the envelope only checks
// what lies outside them.
func TestDecodeEnvelopeLeavesItemsToTheirOwnDecoding(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{"{\"events\":[{\"a\":\"\xff\"}]}", ""},
		{"{\"events\":[\"\xff\"],\"\xfe\":1}", "request body is not valid UTF-8"},
		{"{\"\xfe\":1,\"events\":[]}", "request body is not valid UTF-8"},
		{"{\"x\":\"\xff\",\"events\":[]}", "x: is not valid UTF-8"},
		{"{\"events\":[\"[1]\"],\"other\":\"\xff\"}", "other: is not valid UTF-8"},
	} {
		_, err := DecodeEnvelope([]byte(c.body), "events", "events")
		got := ""
		if err != nil {
			got = err.Error()
		}
		if !strings.HasPrefix(got, c.want) || (c.want == "") != (got == "") {
			t.Errorf("DecodeEnvelope(%q) = %q, want %q", c.body, got, c.want)
		}
	}
}

func TestCheckName(t *testing.T) {
	for _, c := range []struct{ name, want string }{
		{"Orders", ""},
		{strings.Repeat("é", 10), ""},
		{strings.Repeat("x", 11), "n: must be 1 to 10 characters"},
		{"", "n: must be 1 to 10 characters"},
		{"a\x00b", "n: must not contain NUL (U+0000)"},
		{"\x00", "n: must not contain NUL (U+0000)"},
		{"\xff", "n: is not valid UTF-8"},
		{"t\ta\nb", ""}, // other control characters store fine on both stores
	} {
		got := ""
		if err := CheckName("n", c.name, 10); err != nil {
			got = err.Error()
		}
		if !strings.HasPrefix(got, c.want) || (c.want == "") != (got == "") {
			t.Errorf("CheckName(%q) = %q, want %q", c.name, got, c.want)
		}
	}
}
