package delivery

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hookd/hookd/internal/netguard"
)

func TestDescribeError(t *testing.T) {
	wrap := func(err error) error {
		return &url.Error{Op: "Post", URL: "https://example.com/hook", Err: &net.OpError{Op: "dial", Net: "tcp", Err: err}}
	}
	cases := []struct {
		err   error
		class string
		text  string
	}{
		{wrap(fmt.Errorf("%w: 10.0.0.1 is private", netguard.ErrRefused)), classRefused, "destination refused by network policy (hookd serve --allow-cidr permits a range)"},
		{wrap(context.DeadlineExceeded), classTimeout, "timeout after 10s"},
		{wrap(&net.DNSError{Err: "i/o timeout", Name: "x", IsTimeout: true}), classTimeout, "timeout after 10s"},
		{wrap(syscall.ECONNREFUSED), classConnection, "connection refused"},
		{wrap(syscall.ECONNRESET), classConnection, "connection reset"},
		{wrap(syscall.EPIPE), classConnection, "connection reset"},
		{wrap(io.EOF), classConnection, "connection closed before a complete response"},
		{wrap(&net.DNSError{Err: "no such host", Name: "nowhere.example"}), classDNS, "dns: no such host (nowhere.example)"},
		{wrap(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}), classTLS, "tls: certificate signed by unknown authority"},
		{wrap(x509.HostnameError{Host: "example.org", Certificate: &x509.Certificate{}}), classTLS, "tls: certificate is not valid for example.org"},
		{wrap(tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}), classTLS, "tls: the server did not answer with TLS"},
		{wrap(tls.AlertError(40)), classTLS, "tls: handshake failure"},
		{wrap(errors.New("something odd \xff")), classOther, "dial tcp: something odd \uFFFD"},
	}
	for _, c := range cases {
		class, text := describeError(c.err, 10*time.Second)
		if class != c.class || text != c.text {
			t.Errorf("describeError(%v) = %q, %q; want %q, %q", c.err, class, text, c.class, c.text)
		}
	}
}

func TestDescribeStatus(t *testing.T) {
	for code, want := range map[int]string{
		500: "HTTP 500", 404: "HTTP 404", 429: "HTTP 429", 101: "HTTP 101",
		301: "redirect not followed (HTTP 301)", 302: "redirect not followed (HTTP 302)", 307: "redirect not followed (HTTP 307)",
	} {
		if _, got := describeStatus(code); got != want {
			t.Errorf("describeStatus(%d) = %q, want %q", code, got, want)
		}
	}
}

func TestResponseText(t *testing.T) {
	euro := "€" // 3 bytes
	full := strings.Repeat("a", maxResponseBody-1) + euro[:1]
	cases := []struct {
		name      string
		in        []byte
		truncated bool
		want      string
	}{
		{"plain", []byte(`{"ok":true}`), false, `{"ok":true}`},
		{"invalid bytes replaced", []byte("a\xffb\xfe\xfdc"), false, "a\uFFFDb\uFFFDc"},
		{"NUL replaced", []byte("a\x00b"), false, "a\uFFFDb"},
		{"rune cut by the cap dropped", []byte(full), true, strings.Repeat("a", maxResponseBody-1)},
		{"cut rune at a real end is invalid", []byte("ab" + euro[:2]), false, "ab\uFFFD"},
	}
	for _, c := range cases {
		if got := responseText(c.in, c.truncated); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
	// Replacement can grow the text; it is cut back to the cap on a rune.
	grown := responseText([]byte(strings.Repeat("\x00", maxResponseBody)), true)
	if len(grown) > maxResponseBody || !utf8.ValidString(grown) {
		t.Fatalf("grown text: %d bytes, valid %v", len(grown), utf8.ValidString(grown))
	}
}
