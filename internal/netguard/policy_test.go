package netguard

import (
	"net/netip"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// fataler is what mustPolicy needs from *testing.T and *rapid.T alike.
type fataler interface {
	Helper()
	Fatalf(format string, args ...any)
}

func mustPolicy(t fataler, allow ...string) *Policy {
	t.Helper()
	p, err := NewPolicy(allow)
	if err != nil {
		t.Fatalf("NewPolicy(%q): %v", allow, err)
	}
	return p
}

func TestNewPolicyParsesPrefixesAndBareAddresses(t *testing.T) {
	p := mustPolicy(t, "10.1.0.0/16", " 192.168.7.7 ", "fd00::/8", "::1", "::ffff:172.16.0.0/108", "10.9.9.9/8")
	want := []string{"10.1.0.0/16", "192.168.7.7/32", "fd00::/8", "::1/128", "172.16.0.0/12", "10.0.0.0/8"}
	if len(p.allowed) != len(want) {
		t.Fatalf("allowed = %v, want %v", p.allowed, want)
	}
	for i, w := range want {
		if got := p.allowed[i].String(); got != w {
			t.Errorf("allowed[%d] = %s, want %s", i, got, w)
		}
	}
}

func TestNewPolicyRejectsBadValuesNamingThem(t *testing.T) {
	for _, bad := range []string{"", "10.0.0.0/33", "not-a-cidr", "10.0.0/8", "fe80::1%eth0", "::1/129", "1.2.3.4/"} {
		_, err := NewPolicy([]string{"10.0.0.0/8", bad})
		if err == nil {
			t.Errorf("NewPolicy(%q) = nil error", bad)
			continue
		}
		if bad != "" && !strings.Contains(err.Error(), bad) {
			t.Errorf("NewPolicy(%q) error %q does not name the value", bad, err)
		}
	}
}

// blockedTable is shared by the Blocked and dial-time tests so that the two
// decisions are checked against the same expectations.
var blockedTable = []struct {
	addr    string
	allow   []string
	blocked bool
}{
	{addr: "127.0.0.1", blocked: true},
	{addr: "127.255.255.254", blocked: true},
	{addr: "10.0.0.1", blocked: true},
	{addr: "172.16.0.1", blocked: true},
	{addr: "172.31.255.255", blocked: true},
	{addr: "172.32.0.1", blocked: false},
	{addr: "192.168.1.1", blocked: true},
	{addr: "169.254.169.254", blocked: true},
	{addr: "100.64.0.1", blocked: true},
	{addr: "100.127.255.255", blocked: true},
	{addr: "100.128.0.1", blocked: false},
	{addr: "0.0.0.0", blocked: true},
	{addr: "224.0.0.1", blocked: true},
	{addr: "239.255.255.250", blocked: true},
	{addr: "255.255.255.255", blocked: true},
	{addr: "192.0.2.1", blocked: true}, // documentation: ssrf's list
	{addr: "8.8.8.8", blocked: false},
	{addr: "1.1.1.1", blocked: false},
	{addr: "::", blocked: true},
	{addr: "::1", blocked: true},
	{addr: "fc00::1", blocked: true},
	{addr: "fd12:3456::1", blocked: true},
	{addr: "fe80::1", blocked: true},
	{addr: "fe80::1%eth0", blocked: true},
	{addr: "ff02::1", blocked: true},
	{addr: "2001:db8::1", blocked: true}, // documentation: ssrf's list
	{addr: "2606:4700:4700::1111", blocked: false},
	{addr: "::ffff:127.0.0.1", blocked: true},
	{addr: "::ffff:10.1.2.3", blocked: true},
	{addr: "::ffff:8.8.8.8", blocked: false},
	{addr: "64:ff9b::7f00:1", blocked: true},  // NAT64 of 127.0.0.1
	{addr: "64:ff9b::808:808", blocked: true}, // NAT64 of 8.8.8.8: ssrf denies NAT64 unless allowed
	{addr: "64:ff9b::808:808", allow: []string{"64:ff9b::/96"}, blocked: false},
	{addr: "64:ff9b::7f00:1", allow: []string{"64:ff9b::/96"}, blocked: true},
	{addr: "64:ff9b::7f00:1", allow: []string{"64:ff9b::/96", "127.0.0.0/8"}, blocked: false},
	{addr: "64:ff9b::7f00:1", allow: []string{"127.0.0.0/8"}, blocked: true},
	{addr: "127.0.0.1", allow: []string{"127.0.0.0/8"}, blocked: false},
	{addr: "127.0.0.1", allow: []string{"127.0.0.2"}, blocked: true},
	{addr: "::ffff:127.0.0.1", allow: []string{"127.0.0.0/8"}, blocked: false},
	{addr: "127.0.0.1", allow: []string{"::ffff:127.0.0.0/104"}, blocked: false},
	{addr: "::1", allow: []string{"127.0.0.0/8"}, blocked: true},
	{addr: "::1", allow: []string{"::1/128"}, blocked: false},
	{addr: "10.20.30.40", allow: []string{"10.20.0.0/16"}, blocked: false},
	{addr: "10.21.30.40", allow: []string{"10.20.0.0/16"}, blocked: true},
	{addr: "fe80::1%eth0", allow: []string{"fe80::/10"}, blocked: false},
	{addr: "fd00::2", allow: []string{"fd00::/64"}, blocked: false},
	{addr: "192.0.2.1", allow: []string{"192.0.2.0/24"}, blocked: false},
}

func TestBlockedTable(t *testing.T) {
	for _, tc := range blockedTable {
		p := mustPolicy(t, tc.allow...)
		if got := p.Blocked(netip.MustParseAddr(tc.addr)); got != tc.blocked {
			t.Errorf("allow %v: Blocked(%s) = %v, want %v", tc.allow, tc.addr, got, tc.blocked)
		}
	}
}

func TestBlockedZeroAddr(t *testing.T) {
	if !mustPolicy(t, "0.0.0.0/0", "::/0").Blocked(netip.Addr{}) {
		t.Error("the zero Addr must be blocked, whatever is allowed")
	}
}

func TestSpecRangesAreAllBlockedByDefault(t *testing.T) {
	p := mustPolicy(t)
	for _, r := range specRanges {
		first := r.prefix.Addr()
		if !p.Blocked(first) {
			t.Errorf("%s (%s) not blocked", first, r.name)
		}
		// ssrf must agree with hookd's own list on each SPEC range, or the
		// two layers describe different policies.
		if err := p.guard.SafeAddr(first); err == nil {
			t.Errorf("ssrf does not deny %s (%s)", first, r.name)
		}
	}
}

func addrIn(t *rapid.T, prefix netip.Prefix, label string) netip.Addr {
	b := prefix.Addr().As16()
	if prefix.Addr().Is4() {
		v4 := prefix.Addr().As4()
		n := rapid.Uint32().Draw(t, label)
		host := uint32(1)<<(32-prefix.Bits()) - 1
		base := uint32(v4[0])<<24 | uint32(v4[1])<<16 | uint32(v4[2])<<8 | uint32(v4[3])
		v := base | n&host
		return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
	}
	random := rapid.SliceOfN(rapid.Byte(), 16, 16).Draw(t, label)
	for i := range 16 {
		keep := prefix.Bits() - i*8 // bits of this byte fixed by the prefix
		switch {
		case keep >= 8:
		case keep <= 0:
			b[i] = random[i]
		default:
			mask := byte(0xff) >> keep
			b[i] = b[i]&^mask | random[i]&mask
		}
	}
	return netip.AddrFrom16(b)
}

func anyAddr(t *rapid.T, label string) netip.Addr {
	if rapid.Bool().Draw(t, label+"-is4") {
		return netip.AddrFrom4([4]byte(rapid.SliceOfN(rapid.Byte(), 4, 4).Draw(t, label)))
	}
	return netip.AddrFrom16([16]byte(rapid.SliceOfN(rapid.Byte(), 16, 16).Draw(t, label)))
}

// interestingAddr favours the special ranges, where the decisions are made.
func interestingAddr(t *rapid.T, label string) netip.Addr {
	prefixes := []netip.Prefix{nat64Prefix, netip.MustParsePrefix("::ffff:0:0/96"), netip.MustParsePrefix("2000::/3")}
	for _, r := range specRanges {
		prefixes = append(prefixes, r.prefix)
	}
	switch rapid.IntRange(0, 2).Draw(t, label+"-kind") {
	case 0:
		return anyAddr(t, label)
	default:
		prefix := rapid.SampledFrom(prefixes).Draw(t, label+"-range")
		return addrIn(t, prefix, label)
	}
}

func randomAllowList(t *rapid.T) []string {
	n := rapid.IntRange(0, 3).Draw(t, "allow-count")
	var allow []string
	for range n {
		addr := interestingAddr(t, "allow-addr")
		bits := rapid.IntRange(addr.BitLen()/2, addr.BitLen()).Draw(t, "allow-bits")
		allow = append(allow, netip.PrefixFrom(addr, bits).Masked().String())
	}
	return allow
}

func TestPropertyLoopbackBlockedUnlessAllowed(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		allow := randomAllowList(t)
		if rapid.Bool().Draw(t, "allow-some-loopback") {
			loopback := addrIn(t, netip.MustParsePrefix("127.0.0.0/8"), "allow-loopback")
			bits := rapid.IntRange(8, 32).Draw(t, "allow-loopback-bits")
			allow = append(allow, netip.PrefixFrom(loopback, bits).Masked().String())
		}
		p := mustPolicy(t, allow...)
		addr := addrIn(t, netip.MustParsePrefix("127.0.0.0/8"), "addr")
		allowed := false
		for _, a := range p.allowed {
			allowed = allowed || a.Contains(addr)
		}
		if got := p.Blocked(addr); got == allowed {
			t.Fatalf("allow %v: Blocked(%s) = %v, covered by an allowed prefix = %v", allow, addr, got, allowed)
		}
	})
}

func TestPropertyMappedBehavesLikeIPv4(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := mustPolicy(t, randomAllowList(t)...)
		v4 := netip.AddrFrom4([4]byte(rapid.SliceOfN(rapid.Byte(), 4, 4).Draw(t, "v4")))
		mapped := netip.AddrFrom16(v4.As16())
		if p.Blocked(v4) != p.Blocked(mapped) {
			t.Fatalf("Blocked(%s) = %v but Blocked(%s) = %v", v4, p.Blocked(v4), mapped, p.Blocked(mapped))
		}
	})
}

func TestPropertyNAT64OfBlockedIPv4IsBlocked(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := mustPolicy(t, randomAllowList(t)...)
		v4 := netip.AddrFrom4([4]byte(rapid.SliceOfN(rapid.Byte(), 4, 4).Draw(t, "v4")))
		b := nat64Prefix.Addr().As16()
		copy(b[12:], v4.AsSlice())
		nat64 := netip.AddrFrom16(b)
		if p.Blocked(v4) && !p.Blocked(nat64) {
			t.Fatalf("%s is blocked but its NAT64 form %s is not", v4, nat64)
		}
	})
}

func TestPropertyAllowingEverythingBlocksNothing(t *testing.T) {
	// With both whole address spaces allowed, nothing valid is blocked.
	p := mustPolicy(t, "0.0.0.0/0", "::/0")
	rapid.Check(t, func(t *rapid.T) {
		addr := interestingAddr(t, "addr")
		if p.Blocked(addr) {
			t.Fatalf("Blocked(%s) with everything allowed", addr)
		}
	})
}
