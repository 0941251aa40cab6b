package netguard

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"code.dny.dev/ssrf"
)

// Policy is the set of destinations hookd refuses, minus the ranges the
// operator allowed with --allow-cidr. It is immutable and safe for
// concurrent use.
type Policy struct {
	allowed []netip.Prefix // normalised: IPv4-mapped IPv6 prefixes stored as IPv4
	guard   *ssrf.Guardian
}

// blockedRange is one entry of hookd's own deny list.
type blockedRange struct {
	prefix netip.Prefix
	name   string
}

// specRanges are the ranges SPEC §6 names. ssrf denies all of them too; the
// list is kept here so that the promise does not depend on a dependency's
// generated table, and so that error messages can name the range.
var specRanges = []blockedRange{
	{netip.MustParsePrefix("0.0.0.0/8"), "unspecified"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private"},
	{netip.MustParsePrefix("100.64.0.0/10"), "carrier-grade NAT"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("255.255.255.255/32"), "broadcast"},
	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("fc00::/7"), "unique-local"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
}

// nat64Prefix is the well-known NAT64 prefix (RFC 6052); its last 32 bits
// are an IPv4 address.
var nat64Prefix = netip.MustParsePrefix("64:ff9b::/96")

// NewPolicy parses the --allow-cidr values. Each is a CIDR prefix (IPv4 or
// IPv6) or a bare IP address, which stands for itself alone (/32 or /128).
func NewPolicy(allowCIDRs []string) (*Policy, error) {
	p := &Policy{}
	var v4, v6 []netip.Prefix
	for _, raw := range allowCIDRs {
		prefix, err := parseAllowed(raw)
		if err != nil {
			return nil, err
		}
		p.allowed = append(p.allowed, prefix)
		if prefix.Addr().Is4() {
			v4 = append(v4, prefix)
		} else {
			v6 = append(v6, prefix)
		}
	}
	// One call per family: a second WithAllowed… call would replace the first.
	p.guard = ssrf.New(
		ssrf.WithAnyPort(),
		ssrf.WithAllowedV4Prefixes(v4...),
		ssrf.WithAllowedV6Prefixes(v6...),
	)
	return p, nil
}

func parseAllowed(raw string) (netip.Prefix, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return netip.Prefix{}, errors.New("allow-cidr: empty value")
	}
	var prefix netip.Prefix
	if strings.Contains(s, "/") {
		parsed, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("allow-cidr %q: not a valid CIDR prefix", raw)
		}
		prefix = parsed
	} else {
		addr, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("allow-cidr %q: not a valid CIDR prefix or IP address", raw)
		}
		if addr.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("allow-cidr %q: an IPv6 zone is not allowed", raw)
		}
		prefix = netip.PrefixFrom(addr, addr.BitLen())
	}
	prefix = prefix.Masked()
	// Addresses are unmapped before they are judged, so an allowed
	// ::ffff:a.b.c.d/n (n ≥ 96) must be stored as the IPv4 prefix it means.
	if prefix.Addr().Is4In6() && prefix.Bits() >= 96 {
		prefix = netip.PrefixFrom(prefix.Addr().Unmap(), prefix.Bits()-96)
	}
	return prefix, nil
}

// Blocked reports whether hookd must not connect to addr. It is pure: no
// DNS, no I/O. The zero Addr is blocked.
func (p *Policy) Blocked(addr netip.Addr) bool {
	return p.refusal(addr) != ""
}

// refusal explains why addr is blocked, or returns "" when it is not.
//
// Order matters: an IPv4-mapped address is unmapped first, so it behaves
// exactly like its IPv4 form. A NAT64 address must pass twice — the IPv4
// address it embeds, then its own IPv6 form — so allowing 64:ff9b::/96 for a
// NAT64 deployment never opens a path to 127.0.0.1. Otherwise an allowed
// prefix wins over both deny lists.
func (p *Policy) refusal(addr netip.Addr) string {
	if !addr.IsValid() {
		return "not a valid IP address"
	}
	a := addr.WithZone("").Unmap() // netip prefixes never contain zoned addresses
	if nat64Prefix.Contains(a) {
		b := a.As16()
		embedded := netip.AddrFrom4([4]byte(b[12:]))
		if why := p.refusal(embedded); why != "" {
			return fmt.Sprintf("%s embeds %s: %s", a, embedded, why)
		}
	}
	for _, allowed := range p.allowed {
		if allowed.Contains(a) {
			return ""
		}
	}
	for _, r := range specRanges {
		if r.prefix.Contains(a) {
			return fmt.Sprintf("%s is in a blocked range (%s, %s)", a, r.prefix, r.name)
		}
	}
	if err := p.guard.SafeAddr(a); err != nil {
		return err.Error()
	}
	return ""
}
