package webhooksig_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/hookd/hookd/webhooksig"
	"pgregory.net/rapid"
)

type vector struct {
	Name   string `json:"name"`
	Secret string `json:"secret"`
	Body   string `json:"body"`
	Header string `json:"header"`
}

func loadVectors(t *testing.T) []vector {
	t.Helper()
	raw, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vectors []vector
	if err := json.Unmarshal(raw, &vectors); err != nil {
		t.Fatal(err)
	}
	if len(vectors) < 4 {
		t.Fatalf("only %d vectors in testdata/vectors.json", len(vectors))
	}
	return vectors
}

func TestVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			body := []byte(v.Body)
			if got := webhooksig.Sign(v.Secret, body); got != v.Header {
				t.Errorf("Sign = %s, want %s", got, v.Header)
			}
			dst := []byte("X: ")
			if got := string(webhooksig.AppendSign(dst, v.Secret, body)); got != "X: "+v.Header {
				t.Errorf("AppendSign = %q, want %q", got, "X: "+v.Header)
			}
			if err := webhooksig.Verify(v.Secret, body, v.Header); err != nil {
				t.Errorf("Verify(own vector) = %v", err)
			}
			// hex digits are case-insensitive on the way in.
			upper := "sha256=" + strings.ToUpper(strings.TrimPrefix(v.Header, "sha256="))
			if err := webhooksig.Verify(v.Secret, body, upper); err != nil {
				t.Errorf("Verify(upper-case hex) = %v", err)
			}
			if err := webhooksig.Verify(v.Secret, append(body, ' '), v.Header); !errors.Is(err, webhooksig.ErrMismatch) {
				t.Errorf("Verify(tampered body) = %v, want ErrMismatch", err)
			}
			if err := webhooksig.Verify(v.Secret+"x", body, v.Header); !errors.Is(err, webhooksig.ErrMismatch) {
				t.Errorf("Verify(wrong secret) = %v, want ErrMismatch", err)
			}
		})
	}
}

func TestVerifyMalformed(t *testing.T) {
	valid := webhooksig.Sign("s", []byte("b"))
	hexPart := strings.TrimPrefix(valid, "sha256=")
	cases := map[string]error{
		"":                                  webhooksig.ErrMissing,
		"sha256":                            webhooksig.ErrMalformed,
		"sha256=":                           webhooksig.ErrMalformed,
		"sha1=" + hexPart[:40]:              webhooksig.ErrMalformed,
		"SHA256=" + hexPart:                 webhooksig.ErrMalformed,
		" " + valid:                         webhooksig.ErrMalformed,
		hexPart:                             webhooksig.ErrMalformed,
		valid[:len(valid)-1]:                webhooksig.ErrMalformed,
		valid + "0":                         webhooksig.ErrMalformed,
		valid[:len(valid)-2] + "zz":         webhooksig.ErrMalformed,
		"sha256=" + strings.Repeat("0", 64): webhooksig.ErrMismatch,
	}
	for header, want := range cases {
		if err := webhooksig.Verify("s", []byte("b"), header); !errors.Is(err, want) {
			t.Errorf("Verify(%q) = %v, want %v", header, err, want)
		}
	}
}

func TestPropertySignVerify(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		secret := rapid.String().Draw(t, "secret")
		body := rapid.SliceOf(rapid.Byte()).Draw(t, "body")
		header := webhooksig.Sign(secret, body)
		if len(header) != len("sha256=")+64 || header != strings.ToLower(header) {
			t.Fatalf("Sign = %q: not sha256= and 64 lower-case hex digits", header)
		}
		if err := webhooksig.Verify(secret, body, header); err != nil {
			t.Fatalf("Verify(Sign) = %v", err)
		}
		// Changing any one hex digit breaks the signature.
		i := rapid.IntRange(len("sha256="), len(header)-1).Draw(t, "digit")
		flipped := []byte(header)
		if flipped[i] == '0' {
			flipped[i] = '1'
		} else {
			flipped[i] = '0'
		}
		if err := webhooksig.Verify(secret, body, string(flipped)); !errors.Is(err, webhooksig.ErrMismatch) {
			t.Fatalf("Verify(one digit changed) = %v, want ErrMismatch", err)
		}
		other := rapid.SliceOf(rapid.Byte()).Draw(t, "other")
		if !bytes.Equal(other, body) {
			if err := webhooksig.Verify(secret, other, header); !errors.Is(err, webhooksig.ErrMismatch) {
				t.Fatalf("Verify(other body) = %v, want ErrMismatch", err)
			}
		}
	})
}

// countingReader records whether the body was read at all.
type countingReader struct {
	r    io.Reader
	read int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += n
	return n, err
}

func signedRequest(secret, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(body))
	r.Header.Set(webhooksig.Header, webhooksig.Sign(secret, []byte(body)))
	return r
}

func TestVerifyRequest(t *testing.T) {
	const secret = "whsec_test"
	const body = `{"event_type":"task.completed"}`

	got, err := webhooksig.VerifyRequest(signedRequest(secret, body), secret, 1024)
	if err != nil || string(got) != body {
		t.Fatalf("VerifyRequest = %q, %v; want the body", got, err)
	}

	got, err = webhooksig.VerifyRequest(signedRequest(secret, body), secret, int64(len(body)))
	if err != nil || string(got) != body {
		t.Errorf("body of exactly maxBody bytes: %q, %v", got, err)
	}

	got, err = webhooksig.VerifyRequest(signedRequest(secret, body), secret, int64(len(body)-1))
	if !errors.Is(err, webhooksig.ErrBodyTooLarge) || got != nil {
		t.Errorf("body over maxBody: %q, %v; want ErrBodyTooLarge", got, err)
	}

	got, err = webhooksig.VerifyRequest(signedRequest(secret, body), secret, 0)
	if err != nil || string(got) != body {
		t.Errorf("maxBody 0 (default limit): %q, %v", got, err)
	}

	got, err = webhooksig.VerifyRequest(signedRequest("whsec_other", body), secret, 1024)
	if !errors.Is(err, webhooksig.ErrMismatch) || got != nil {
		t.Errorf("wrong secret: %q, %v; want ErrMismatch and no body", got, err)
	}

	twice := signedRequest(secret, body)
	twice.Header.Add(webhooksig.Header, webhooksig.Sign(secret, []byte(body)))
	if _, err := webhooksig.VerifyRequest(twice, secret, 1024); !errors.Is(err, webhooksig.ErrMalformed) {
		t.Errorf("two signature headers: %v, want ErrMalformed", err)
	}

	noBody, _ := http.NewRequest(http.MethodPost, "/hook", nil)
	noBody.Header.Set(webhooksig.Header, webhooksig.Sign(secret, nil))
	if got, err := webhooksig.VerifyRequest(noBody, secret, 1024); err != nil || len(got) != 0 {
		t.Errorf("nil body signed as empty: %q, %v", got, err)
	}
}

func TestVerifyRequestRejectsBadHeaderWithoutReadingBody(t *testing.T) {
	for header, want := range map[string]error{"": webhooksig.ErrMissing, "md5=abc": webhooksig.ErrMalformed} {
		reader := &countingReader{r: strings.NewReader("payload")}
		r := httptest.NewRequest(http.MethodPost, "/hook", reader)
		if header != "" {
			r.Header.Set(webhooksig.Header, header)
		}
		if _, err := webhooksig.VerifyRequest(r, "s", 1024); !errors.Is(err, want) {
			t.Errorf("header %q: %v, want %v", header, err, want)
		}
		if reader.read != 0 {
			t.Errorf("header %q: body read (%d bytes) before the header was checked", header, reader.read)
		}
	}
}

var benchBody = bytes.Repeat([]byte(`{"k":"v"}`), 300/9+1)[:300]

const benchSecret = "whsec_a1b2c3d4e5f6g7h8i9j0AbCdEfGhIjKl"

func BenchmarkSign(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = webhooksig.Sign(benchSecret, benchBody)
	}
}

func BenchmarkAppendSign(b *testing.B) {
	b.ReportAllocs()
	dst := make([]byte, 0, 128)
	for b.Loop() {
		dst = webhooksig.AppendSign(dst[:0], benchSecret, benchBody)
	}
}

func BenchmarkVerify(b *testing.B) {
	b.ReportAllocs()
	header := webhooksig.Sign(benchSecret, benchBody)
	for b.Loop() {
		if err := webhooksig.Verify(benchSecret, benchBody, header); err != nil {
			b.Fatal(err)
		}
	}
}
