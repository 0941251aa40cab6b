// Package webhooksig signs and verifies hookd webhook deliveries.
//
// Every delivery carries the header
//
//	X-Webhook-Signature-256: sha256=<lower-case hex HMAC-SHA256(key = webhook secret, message = raw body)>
//
// the same scheme as GitHub's X-Hub-Signature-256. The key is the secret
// string's bytes exactly as hookd shows it (including the "whsec_" prefix),
// and the message is the body exactly as received: verify the raw bytes
// before decoding them, because re-encoding JSON changes the bytes.
//
// A receiver needs one call:
//
//	func handleWebhook(w http.ResponseWriter, r *http.Request) {
//		body, err := webhooksig.VerifyRequest(r, os.Getenv("WEBHOOK_SECRET"), 0)
//		if err != nil {
//			http.Error(w, "invalid signature", http.StatusUnauthorized)
//			return
//		}
//		// body holds the verified bytes; decode them now.
//		w.WriteHeader(http.StatusNoContent)
//	}
//
// Comparison is constant-time. Answer quickly with a 2xx: hookd treats
// anything else, or no answer within its timeout, as a failed attempt and
// retries.
package webhooksig

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// Header is the request header that carries the signature.
const Header = "X-Webhook-Signature-256"

// prefix starts every signature header value.
const prefix = "sha256="

// signatureLen is the length of a header value: the prefix and 64 hex digits.
const signatureLen = len(prefix) + 2*sha256.Size

// DefaultMaxBody is the body limit [VerifyRequest] applies when it is given
// a limit of zero or less.
const DefaultMaxBody = 4 << 20

// Errors returned by [Verify] and [VerifyRequest]; match them with errors.Is.
var (
	ErrMissing      = errors.New("webhooksig: signature header missing")
	ErrMalformed    = errors.New("webhooksig: signature header malformed")
	ErrMismatch     = errors.New("webhooksig: signature does not match")
	ErrBodyTooLarge = errors.New("webhooksig: body too large")
)

// Sign returns the header value for body: "sha256=" and the lower-case hex
// HMAC-SHA256 of body keyed with secret.
func Sign(secret string, body []byte) string {
	var buf [signatureLen]byte
	return string(AppendSign(buf[:0], secret, body))
}

// AppendSign appends the header value for body to dst and returns the
// extended slice. With room in dst it allocates only inside crypto/hmac (a
// few hundred bytes), not for the hex or the string; a sender signs every
// attempt with it.
func AppendSign(dst []byte, secret string, body []byte) []byte {
	var sum [sha256.Size]byte
	dst = append(dst, prefix...)
	return hex.AppendEncode(dst, mac(sum[:0], secret, body))
}

// mac appends HMAC-SHA256(secret, body) to dst.
func mac(dst []byte, secret string, body []byte) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write(body)
	return h.Sum(dst)
}

// Verify checks that header is the signature of body under secret. It
// returns nil, or an error matching ErrMissing (empty header), ErrMalformed
// (not "sha256=" and 64 hex digits) or ErrMismatch. The MACs are compared in
// constant time.
func Verify(secret string, body []byte, header string) error {
	got, err := parse(header)
	if err != nil {
		return err
	}
	return compare(got, secret, body)
}

// compare checks got against the MAC of body, in constant time.
func compare(got [sha256.Size]byte, secret string, body []byte) error {
	var sum [sha256.Size]byte
	if !hmac.Equal(got[:], mac(sum[:0], secret, body)) {
		return ErrMismatch
	}
	return nil
}

// parse extracts the MAC from a header value.
func parse(header string) ([sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	switch {
	case header == "":
		return sum, ErrMissing
	case len(header) < len(prefix) || header[:len(prefix)] != prefix:
		return sum, fmt.Errorf("%w: no %q prefix", ErrMalformed, prefix)
	case len(header) != signatureLen:
		return sum, fmt.Errorf("%w: want %d hex digits after %q, got %d",
			ErrMalformed, 2*sha256.Size, prefix, len(header)-len(prefix))
	}
	if _, err := hex.Decode(sum[:], []byte(header[len(prefix):])); err != nil {
		return sum, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return sum, nil
}

// VerifyRequest reads r's body (at most maxBody bytes; zero or less means
// DefaultMaxBody), verifies it against the signature header under secret and
// returns it. On any error it returns no body: unverified bytes must not be
// used. The header is checked before the body is read, so a request without
// a well-formed signature costs no read.
func VerifyRequest(r *http.Request, secret string, maxBody int64) ([]byte, error) {
	values := r.Header.Values(Header)
	if len(values) > 1 {
		return nil, fmt.Errorf("%w: %d %s headers", ErrMalformed, len(values), Header)
	}
	got, err := parse(r.Header.Get(Header))
	if err != nil {
		return nil, err
	}
	if maxBody <= 0 {
		maxBody = DefaultMaxBody
	}
	var body []byte
	if r.Body != nil {
		body, err = io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		if err != nil {
			return nil, fmt.Errorf("webhooksig: reading body: %w", err)
		}
	}
	if int64(len(body)) > maxBody {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrBodyTooLarge, maxBody)
	}
	if err := compare(got, secret, body); err != nil {
		return nil, err
	}
	return body, nil
}
