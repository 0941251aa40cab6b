package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/golang-jwt/jwt/v5"
)

// strictClaims are the registered claims, decoded as RFC 7519 defines them.
//
// golang-jwt decodes RegisteredClaims with encoding/json, which has two
// leniencies a verifier must not have: a NumericDate goes through
// json.Number, which also takes a JSON string of digits ("exp":"9999999999"),
// and struct fields match keys case-insensitively, so "eXp" or "SUB" would be
// read as exp and sub although claim names are case-sensitive (RFC 7519 §4).
// Each registered claim is therefore read from its exact key, after its JSON
// type is checked: NumericDates are numbers, iss/sub/jti strings, aud a
// string or an array of strings. This runs while the claims are decoded,
// before the signature is checked; either way the answer is 401.
type strictClaims struct {
	jwt.RegisteredClaims
}

// claimTypeError says which registered claim has the wrong JSON type.
type claimTypeError struct {
	claim, want string
}

func (e *claimTypeError) Error() string {
	return fmt.Sprintf("bearer token %s claim must be %s", e.claim, e.want)
}

func (c *strictClaims) UnmarshalJSON(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	if raw == nil {
		return errors.New("claims must be a JSON object")
	}
	var rc jwt.RegisteredClaims
	dates := []struct {
		name string
		dst  **jwt.NumericDate
	}{{"exp", &rc.ExpiresAt}, {"nbf", &rc.NotBefore}, {"iat", &rc.IssuedAt}}
	for _, d := range dates {
		if v, ok := raw[d.name]; ok {
			if !isJSONNumber(v) {
				return &claimTypeError{d.name, "a JSON number (NumericDate)"}
			}
			if err := json.Unmarshal(v, d.dst); err != nil {
				return err
			}
		}
	}
	strs := []struct {
		name string
		dst  *string
	}{{"iss", &rc.Issuer}, {"sub", &rc.Subject}, {"jti", &rc.ID}}
	for _, s := range strs {
		if v, ok := raw[s.name]; ok {
			if !isJSONString(v) {
				return &claimTypeError{s.name, "a JSON string"}
			}
			if err := json.Unmarshal(v, s.dst); err != nil {
				return err
			}
		}
	}
	if v, ok := raw["aud"]; ok {
		if !isJSONString(v) && !isStringArray(v) {
			return &claimTypeError{"aud", "a JSON string or an array of strings"}
		}
		if err := json.Unmarshal(v, &rc.Audience); err != nil {
			return err
		}
	}
	c.RegisteredClaims = rc
	return nil
}

// The raw values come from a successful json.Unmarshal, so they are valid
// JSON: the first byte tells the type.
func isJSONNumber(v json.RawMessage) bool {
	v = bytes.TrimSpace(v)
	return len(v) > 0 && (v[0] == '-' || v[0] >= '0' && v[0] <= '9')
}

func isJSONString(v json.RawMessage) bool {
	v = bytes.TrimSpace(v)
	return len(v) > 0 && v[0] == '"'
}

func isStringArray(v json.RawMessage) bool {
	var items []json.RawMessage
	v = bytes.TrimSpace(v)
	if len(v) == 0 || v[0] != '[' || json.Unmarshal(v, &items) != nil {
		return false
	}
	for _, item := range items {
		if !isJSONString(item) {
			return false
		}
	}
	return true
}
