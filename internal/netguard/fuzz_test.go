package netguard

import (
	"errors"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzCheckURL: every accepted URL is an absolute https URL with a host, no
// user-info, no fragment, at most MaxURLLength bytes of UTF-8 without
// control characters, whose IP-literal host (if any) the dial-time guard
// would let through; every refusal matches ErrInvalidURL. The same holds
// under a policy that allows private ranges. The seed corpus is in
// testdata/fuzz/FuzzCheckURL/.
func FuzzCheckURL(f *testing.F) {
	strict, err := NewPolicy(nil)
	if err != nil {
		f.Fatal(err)
	}
	lenient, err := NewPolicy([]string{"10.0.0.0/8", "127.0.0.0/8", "fc00::/7"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		strictErr := strict.CheckURL(raw)
		for _, p := range []*Policy{strict, lenient} {
			err := p.CheckURL(raw)
			if err != nil {
				if !errors.Is(err, ErrInvalidURL) || err.Error() == "" {
					t.Fatalf("CheckURL(%q) = %v, want an ErrInvalidURL with a reason", raw, err)
				}
				continue
			}
			checkAcceptedURL(t, p, raw)
		}
		// Allowing ranges only ever accepts more.
		if strictErr == nil && lenient.CheckURL(raw) != nil {
			t.Fatalf("%q accepted by the default policy but refused by a more lenient one", raw)
		}
	})
}

func checkAcceptedURL(t *testing.T, p *Policy, raw string) {
	t.Helper()
	if len(raw) > MaxURLLength || !utf8.ValidString(raw) || strings.Contains(raw, "#") {
		t.Fatalf("accepted %q: too long, not UTF-8 or with a fragment", raw)
	}
	for _, r := range raw {
		if r < 0x20 || r == 0x7f {
			t.Fatalf("accepted %q with control character %U", raw, r)
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("accepted %q that url.Parse refuses: %v", raw, err)
	}
	if u.Scheme != "https" || u.Host == "" || u.Hostname() == "" || u.User != nil || u.Opaque != "" {
		t.Fatalf("accepted %q: scheme %q host %q user %v opaque %q", raw, u.Scheme, u.Host, u.User, u.Opaque)
	}
	if addr, err := netip.ParseAddr(u.Hostname()); err == nil && p.Blocked(addr) {
		t.Fatalf("accepted %q whose host %s the dial-time guard blocks", raw, addr)
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if (host == "localhost" || strings.HasSuffix(host, ".localhost")) &&
		p.Blocked(localhostAddrs[0]) && p.Blocked(localhostAddrs[1]) {
		t.Fatalf("accepted %q although loopback is blocked", raw)
	}
}
