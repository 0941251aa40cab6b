package auth

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/golang-jwt/jwt/v5"
)

// strictClaims are the registered claims with their JSON types enforced.
// golang-jwt decodes a NumericDate through json.Number, which also accepts a
// JSON string holding digits ("exp":"9999999999"); RFC 7519 §2 defines
// NumericDate as a JSON number, and a token that spells it otherwise was not
// minted by a conforming issuer. The check runs while the claims are decoded,
// before the signature is checked: either way the answer is 401.
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
	for _, name := range []string{"exp", "nbf", "iat"} {
		if v, ok := raw[name]; ok && !isJSONNumber(v) {
			return &claimTypeError{name, "a JSON number (NumericDate)"}
		}
	}
	for _, name := range []string{"iss", "sub", "jti"} {
		if v, ok := raw[name]; ok && !isJSONString(v) {
			return &claimTypeError{name, "a JSON string"}
		}
	}
	if v, ok := raw["aud"]; ok && !isJSONString(v) && !isStringArray(v) {
		return &claimTypeError{"aud", "a JSON string or an array of strings"}
	}
	return json.Unmarshal(data, &c.RegisteredClaims)
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
