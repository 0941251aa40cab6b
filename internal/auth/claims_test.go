package auth

import (
	"strconv"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// RFC 7519: NumericDate claims are JSON numbers, iss/sub/jti strings, aud a
// string or an array of strings. golang-jwt alone accepts "exp":"9999999999".
func TestVerifyRegisteredClaimTypes(t *testing.T) {
	v := newTestVerifier(t, JWTConfig{HS256Secret: testHSSecret}, nil)
	user := uuid.New()
	exp := testClock.Add(time.Hour).Unix()
	for _, c := range []struct {
		name  string
		claim string
		value any    // nil deletes the claim
		want  string // "" accepts
	}{
		{"exp number", "exp", exp, ""},
		{"exp fractional number", "exp", float64(exp) + 0.5, ""},
		{"exp numeric string", "exp", strconv.FormatInt(exp, 10), "exp claim must be a JSON number"},
		{"exp far-future string", "exp", "9999999999", "exp claim must be a JSON number"},
		{"exp null", "exp", jsonNull{}, "exp claim must be a JSON number"},
		{"exp bool", "exp", true, "exp claim must be a JSON number"},
		{"exp array", "exp", []int64{exp}, "exp claim must be a JSON number"},
		{"exp object", "exp", map[string]int64{"n": exp}, "exp claim must be a JSON number"},
		{"nbf number", "nbf", testClock.Unix(), ""},
		{"nbf string", "nbf", strconv.FormatInt(testClock.Unix(), 10), "nbf claim must be a JSON number"},
		{"nbf null", "nbf", jsonNull{}, "nbf claim must be a JSON number"},
		{"iat string", "iat", strconv.FormatInt(testClock.Unix(), 10), "iat claim must be a JSON number"},
		{"iat bool", "iat", false, "iat claim must be a JSON number"},
		{"iss string", "iss", "https://idp.example", ""},
		{"iss number", "iss", 7, "iss claim must be a JSON string"},
		{"iss array", "iss", []string{"https://idp.example"}, "iss claim must be a JSON string"},
		{"sub number", "sub", 42, "sub claim must be a JSON string"},
		{"sub null", "sub", jsonNull{}, "sub claim must be a JSON string"},
		{"jti string", "jti", "abc", ""},
		{"jti number", "jti", 1, "jti claim must be a JSON string"},
		{"jti object", "jti", map[string]string{}, "jti claim must be a JSON string"},
		{"aud string", "aud", "hookd", ""},
		{"aud array", "aud", []string{"a", "hookd"}, ""},
		{"aud empty array", "aud", []string{}, ""},
		{"aud number", "aud", 5, "aud claim must be a JSON string or an array of strings"},
		{"aud mixed array", "aud", []any{"hookd", 5}, "aud claim must be a JSON string or an array of strings"},
		{"aud nested array", "aud", []any{[]string{"hookd"}}, "aud claim must be a JSON string or an array of strings"},
		{"aud null", "aud", jsonNull{}, "aud claim must be a JSON string or an array of strings"},
	} {
		t.Run(c.name, func(t *testing.T) {
			claims := claimsFor(user)
			if _, null := c.value.(jsonNull); null {
				claims[c.claim] = nil
			} else {
				claims[c.claim] = c.value
			}
			tok := sign(t, jwt.SigningMethodHS256, "", testHSSecret, claims)
			if c.want == "" {
				accepts(t, v, tok, user)
			} else {
				rejects(t, v, tok, c.want)
			}
		})
	}
}

// jsonNull marks a claim sent as JSON null.
type jsonNull struct{}

// Claim names are case-sensitive (RFC 7519 §4); encoding/json alone would
// read "eXp" as exp and "SUB" as sub (found by FuzzVerify).
func TestVerifyClaimNamesAreCaseSensitive(t *testing.T) {
	v := newTestVerifier(t, JWTConfig{HS256Secret: testHSSecret}, nil)
	user := uuid.New()
	exp := testClock.Add(time.Hour).Unix()
	for _, c := range []struct {
		name   string
		rename map[string]string // claim → key actually sent
		extra  map[string]any
		want   string // "" accepts
	}{
		{"exp as eXp", map[string]string{"exp": "eXp"}, nil, "no exp claim"},
		{"exp as EXP", map[string]string{"exp": "EXP"}, nil, "no exp claim"},
		{"sub as SUB", map[string]string{"sub": "SUB"}, nil, "sub claim must be a user UUID"},
		{"sub as long-s ſub", map[string]string{"sub": "ſub"}, nil, "sub claim must be a user UUID"},
		{"string Exp beside a numeric exp is just another claim", nil, map[string]any{"Exp": "9999999999"}, ""},
		{"expired exp is not rescued by a later EXP", nil, map[string]any{"exp": testClock.Add(-time.Hour).Unix(), "EXP": exp}, "expired"},
	} {
		t.Run(c.name, func(t *testing.T) {
			claims := claimsFor(user)
			for from, to := range c.rename {
				claims[to] = claims[from]
				delete(claims, from)
			}
			for k, val := range c.extra {
				claims[k] = val
			}
			tok := sign(t, jwt.SigningMethodHS256, "", testHSSecret, claims)
			if c.want == "" {
				accepts(t, v, tok, user)
			} else {
				rejects(t, v, tok, c.want)
			}
		})
	}
}
