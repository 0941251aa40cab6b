package delivery

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/hookd/hookd/internal/netguard"
)

// Outcome classes: the metric label of an attempt, and the first word of
// how the delivery log explains it.
const (
	classSucceeded  = "succeeded"
	classHTTPStatus = "http_status"
	classRedirect   = "redirect"
	classTimeout    = "timeout"
	classRefused    = "refused"
	classConnection = "connection"
	classTLS        = "tls"
	classDNS        = "dns"
	classOther      = "other"
)

// refusedText explains a policy refusal in the delivery log. The refused
// address stays out of it (the log is read through the API, and the
// address a name resolves to inside the network is not the caller's to
// learn); the hint says how an operator can allow the destination.
var refusedText = netguard.ErrRefused.Error() + " (" + netguard.AllowHint + ")"

// maxResponseBody caps the response bytes read and stored per attempt.
const maxResponseBody = 4 << 10

// maxErrorText caps an error message stored on an attempt.
const maxErrorText = 1 << 10

// describeStatus explains a response that is not a success.
func describeStatus(code int) (class, text string) {
	if code >= 300 && code < 400 {
		return classRedirect, "redirect not followed (HTTP " + strconv.Itoa(code) + ")"
	}
	return classHTTPStatus, "HTTP " + strconv.Itoa(code)
}

// describeError turns a transport error into a short, stable explanation for
// the delivery log. Order matters: a policy refusal or a timeout may wrap
// lower-level errors that would otherwise be misread.
func describeError(err error, timeout time.Duration) (class, text string) {
	if netguard.IsRefused(err) {
		return classRefused, refusedText
	}
	var netErr net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()) {
		return classTimeout, "timeout after " + timeout.String()
	}
	if text, ok := describeTLS(err); ok {
		return classTLS, text
	}
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return classConnection, "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return classConnection, "connection reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return classConnection, "connection closed before a complete response"
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return classDNS, cleanText("dns: "+dnsErr.Err+" ("+dnsErr.Name+")", maxErrorText)
	}
	// url.Error repeats the method and the URL, which the log already shows.
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		err = urlErr.Err
	}
	return classOther, cleanText(err.Error(), maxErrorText)
}

func describeTLS(err error) (string, bool) {
	var unknownAuthority x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var record tls.RecordHeaderError
	var alert tls.AlertError
	var verify *tls.CertificateVerificationError
	switch {
	case errors.As(err, &unknownAuthority):
		return "tls: certificate signed by unknown authority", true
	case errors.As(err, &hostname):
		return cleanText("tls: certificate is not valid for "+hostname.Host, maxErrorText), true
	case errors.As(err, &invalid):
		return cleanText("tls: "+invalid.Error(), maxErrorText), true
	case errors.As(err, &record):
		return "tls: the server did not answer with TLS", true
	case errors.As(err, &alert):
		return cleanText(alert.Error(), maxErrorText), true // already "tls: …"
	case errors.As(err, &verify):
		return cleanText("tls: "+verify.Err.Error(), maxErrorText), true
	}
	return "", false
}

// responseText makes a stored response body out of at most maxResponseBody
// bytes read: valid UTF-8 (invalid bytes replaced), no NUL (PostgreSQL text
// refuses it), still at most maxResponseBody bytes. truncated says the body
// went on, so a rune cut at the end is dropped rather than marked invalid.
func responseText(b []byte, truncated bool) string {
	if truncated {
		b = trimPartialRune(b)
	}
	return cleanText(string(b), maxResponseBody)
}

// cleanText returns s as valid UTF-8 without NUL, at most limit bytes, cut
// on a rune boundary.
func cleanText(s string, limit int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	}
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// trimPartialRune drops a multi-byte rune cut short at the end of b.
func trimPartialRune(b []byte) []byte {
	for back := 1; back <= utf8.UTFMax && back <= len(b); back++ {
		start := len(b) - back
		if utf8.RuneStart(b[start]) {
			if !utf8.FullRune(b[start:]) {
				return b[:start]
			}
			return b
		}
	}
	return b
}
