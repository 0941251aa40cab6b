package netguard

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxURLLength is the longest webhook_url accepted (SPEC §3).
const MaxURLLength = 2048

// ErrInvalidURL is matched (errors.Is) by every error [Policy.CheckURL]
// returns. The error's own message names the problem without the field name,
// for the API to prefix with "webhook_url".
var ErrInvalidURL = errors.New("invalid webhook URL")

type urlError struct{ reason string }

func (e *urlError) Error() string        { return e.reason }
func (e *urlError) Is(target error) bool { return target == ErrInvalidURL }

func invalid(format string, args ...any) error {
	return &urlError{reason: fmt.Sprintf(format, args...)}
}

// localhostAddrs are what the names localhost and *.localhost stand for.
var localhostAddrs = []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")}

// CheckURL applies the create/update rules of SPEC §3 to a webhook URL:
// an absolute https:// URL with a host, no user-info, no fragment, at most
// MaxURLLength bytes, and a host that is not, on its face, a blocked
// destination. It does no DNS lookup: IP literals and the localhost names are
// judged here; every other name is judged at dial time.
//
// "localhost" and "*.localhost" stand for 127.0.0.1 and ::1 and are accepted
// when either is allowed: the dialer tries each address the name resolves
// to, and the dial-time guard still refuses whichever one is not allowed.
func (p *Policy) CheckURL(raw string) error {
	if len(raw) > MaxURLLength {
		return invalid("must be at most %d characters", MaxURLLength)
	}
	// url.Parse lets bytes above 0x7f through unchecked; the URL is stored
	// as text and sent in a request line, so it must at least be UTF-8.
	if !utf8.ValidString(raw) {
		return invalid("is not valid UTF-8")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return invalid("is not a valid URL")
	}
	if u.Scheme == "" {
		return invalid("must be an absolute https:// URL")
	}
	if u.Scheme != "https" {
		return invalid("must use the https scheme, not %q", u.Scheme)
	}
	if u.Opaque != "" || u.Host == "" {
		return invalid("must have a host")
	}
	if u.User != nil {
		return invalid("must not contain user information")
	}
	// url.Parse drops an empty fragment ("…/#"), so look at the raw text: the
	// first '#' always starts the fragment.
	if strings.Contains(raw, "#") {
		return invalid("must not contain a fragment")
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return invalid("has an invalid port %q", port)
		}
	}
	return p.checkHost(u.Hostname())
}

func (p *Policy) checkHost(host string) error {
	if host == "" {
		return invalid("must have a host")
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		if why := p.refusal(addr); why != "" {
			return invalid("host is a blocked destination: %s; %s", why, AllowHint)
		}
		return nil
	}
	name := strings.ToLower(strings.TrimSuffix(host, "."))
	if err := checkHostName(name); err != nil {
		return err
	}
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		for _, addr := range localhostAddrs {
			if !p.Blocked(addr) {
				return nil
			}
		}
		return invalid("host %s is a blocked destination (loopback); %s", host, AllowHint)
	}
	return nil
}

// checkHostName rejects names with empty labels, and names whose last label
// is numeric: no top-level domain is, so such a name can only be one of the
// legacy IPv4 spellings ("127.1", "2130706433", "0x7f.0.0.1") that libc
// resolvers turn into addresses netip does not parse.
func checkHostName(name string) error {
	labels := strings.Split(name, ".")
	for _, label := range labels {
		if label == "" {
			return invalid("host %q has an empty label", name)
		}
	}
	last := labels[len(labels)-1]
	if isNumericLabel(last) {
		return invalid("host %q is not a valid host name or IP address", name)
	}
	return nil
}

// isNumericLabel reports whether label is all decimal digits, or "0x"
// followed by hex digits.
func isNumericLabel(label string) bool {
	digits := "0123456789"
	if rest, ok := strings.CutPrefix(label, "0x"); ok && rest != "" {
		label, digits = rest, "0123456789abcdef"
	}
	for _, c := range label {
		if !strings.ContainsRune(digits, c) {
			return false
		}
	}
	return true
}
