package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// FuzzVerify signs the fuzzed header and claims with the HS256 secret the
// verifier trusts, so the fuzzer explores claim handling behind a valid
// signature; it also verifies the claims bytes as a raw token. Every answer
// is a user id or a 401 *Error; an accepted token is HS256, has a numeric
// exp that is not past (60 s skew), a numeric nbf not in the future,
// registered claims of their RFC 7519 types, and a sub that is the returned
// UUID; the same token with its signature changed is refused. The seed
// corpus is in testdata/fuzz/FuzzVerify/.
func FuzzVerify(f *testing.F) {
	v, err := NewVerifier(f.Context(), JWTConfig{HS256Secret: testHSSecret})
	if err != nil {
		f.Fatal(err)
	}
	v.now = func() time.Time { return testClock }
	f.Fuzz(func(t *testing.T, header, claims []byte) {
		verifyChecked(t, v, string(claims)) // as a raw token

		tok := hs256Token(header, claims)
		if !verifyChecked(t, v, tok) {
			return
		}
		dot := strings.LastIndexByte(tok, '.')
		sig := []byte(tok[dot+1:])
		sig[0] ^= 1 // a different leading sextet: the MAC bytes change
		if _, err := v.Verify(tok[:dot+1] + string(sig)); err == nil {
			t.Fatalf("token accepted with a changed signature: %s", tok)
		}
	})
}

func hs256Token(header, claims []byte) string {
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString(header) + "." + enc.EncodeToString(claims)
	m := hmac.New(sha256.New, testHSSecret)
	m.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(m.Sum(nil))
}

// verifyChecked verifies token, checks the answer's invariants and reports
// whether the token was accepted.
func verifyChecked(t *testing.T, v *Verifier, token string) bool {
	t.Helper()
	user, err := v.Verify(token)
	if err != nil {
		var ae *Error
		if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized || ae.Message == "" {
			t.Fatalf("Verify error %#v is not a 401 *Error with a reason", err)
		}
		return false
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("accepted a token of %d parts", len(parts))
	}
	var header map[string]any
	if b, err := base64.RawURLEncoding.DecodeString(parts[0]); err != nil || json.Unmarshal(b, &header) != nil {
		t.Fatalf("accepted a token whose header does not decode: %q", parts[0])
	}
	if header["alg"] != "HS256" {
		t.Fatalf("accepted alg %v", header["alg"])
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("accepted a token whose claims do not decode: %v", err)
	}
	var c map[string]json.RawMessage
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("accepted claims that are not an object: %q", b)
	}
	exp, ok := numericDate(t, c, "exp")
	if !ok {
		t.Fatalf("accepted a token without a numeric exp: %s", b)
	}
	if exp < float64(testClock.Add(-clockSkew).Unix())-1 {
		t.Fatalf("accepted an expired token: exp %v", exp)
	}
	if nbf, ok := numericDate(t, c, "nbf"); ok && nbf > float64(testClock.Add(clockSkew).Unix())+1 {
		t.Fatalf("accepted a token not valid yet: nbf %v", nbf)
	}
	numericDate(t, c, "iat")
	var sub string
	if json.Unmarshal(c["sub"], &sub) != nil || !strings.EqualFold(sub, user.String()) || user == uuid.Nil {
		t.Fatalf("accepted sub %s, returned %s", c["sub"], user)
	}
	var s string
	var list []string
	for _, name := range []string{"iss", "jti"} {
		if raw, ok := c[name]; ok && (string(raw) == "null" || json.Unmarshal(raw, &s) != nil) {
			t.Fatalf("accepted %s %s", name, raw)
		}
	}
	if raw, ok := c["aud"]; ok && json.Unmarshal(raw, &s) != nil && (json.Unmarshal(raw, &list) != nil || string(raw) == "null") {
		t.Fatalf("accepted aud %s", raw)
	}
	return true
}

// numericDate reads a present claim, failing unless it is a JSON number.
func numericDate(t *testing.T, c map[string]json.RawMessage, name string) (float64, bool) {
	t.Helper()
	raw, ok := c[name]
	if !ok {
		return 0, false
	}
	var n float64 // a JSON string or null would not decode (or decode as 0)
	if string(raw) == "null" || json.Unmarshal(raw, &n) != nil {
		t.Fatalf("accepted %s %s that is not a JSON number", name, raw)
	}
	return n, true
}
