package webhooksig

import (
	"bytes"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzSignVerify: Verify(Sign(x)) holds for every secret and body, in the
// header's exact shape; changing one byte of the body or one hex digit of
// the signature fails with ErrMismatch; an arbitrary header is accepted only
// when it is the signature (hex case aside), and is otherwise refused with
// one of the documented errors; VerifyRequest agrees with Verify. The seed
// corpus is in testdata/fuzz/FuzzSignVerify/.
func FuzzSignVerify(f *testing.F) {
	f.Fuzz(func(t *testing.T, secret string, body []byte, header string, pos uint16) {
		sig := Sign(secret, body)
		if len(sig) != signatureLen || !strings.HasPrefix(sig, prefix) || strings.Trim(sig[len(prefix):], "0123456789abcdef") != "" {
			t.Fatalf("Sign = %q, want sha256= and 64 lower-case hex digits", sig)
		}
		if err := Verify(secret, body, sig); err != nil {
			t.Fatalf("Verify(Sign(x)) = %v", err)
		}
		if got := string(AppendSign([]byte("x"), secret, body)); got != "x"+sig {
			t.Fatalf("AppendSign = %q, want %q", got, "x"+sig)
		}
		if len(body) > 0 {
			changed := bytes.Clone(body)
			changed[int(pos)%len(changed)] ^= 0x01
			if err := Verify(secret, changed, sig); !errors.Is(err, ErrMismatch) {
				t.Fatalf("changed body: Verify = %v, want ErrMismatch", err)
			}
		}
		digits := []byte(sig)
		i := len(prefix) + int(pos)%(2*32)
		if digits[i] == '0' {
			digits[i] = '1'
		} else {
			digits[i] = '0'
		}
		if err := Verify(secret, body, string(digits)); !errors.Is(err, ErrMismatch) {
			t.Fatalf("changed signature: Verify = %v, want ErrMismatch", err)
		}

		err := Verify(secret, body, header)
		same := strings.EqualFold(header, sig) && strings.HasPrefix(header, prefix)
		switch {
		case same && err != nil:
			t.Fatalf("the signature in other hex case refused: %v", err)
		case !same && err == nil:
			t.Fatalf("header %q accepted for signature %q", header, sig)
		case err != nil && !errors.Is(err, ErrMissing) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrMismatch):
			t.Fatalf("undocumented error %v", err)
		}

		req := httptest.NewRequest("POST", "/hook", bytes.NewReader(body))
		if header != "" {
			req.Header.Set(Header, header)
		}
		got, reqErr := VerifyRequest(req, secret, int64(len(body))+1)
		if class(reqErr) != class(err) {
			t.Fatalf("VerifyRequest = %v, Verify = %v", reqErr, err)
		}
		if reqErr == nil && !bytes.Equal(got, body) {
			t.Fatal("VerifyRequest returned other bytes than the body")
		}
		if reqErr != nil && got != nil {
			t.Fatal("VerifyRequest returned bytes with an error")
		}
	})
}

// class names which documented error err matches.
func class(err error) error {
	for _, sentinel := range []error{ErrMissing, ErrMalformed, ErrMismatch, ErrBodyTooLarge} {
		if errors.Is(err, sentinel) {
			return sentinel
		}
	}
	return err
}
