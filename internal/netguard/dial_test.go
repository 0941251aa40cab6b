package netguard

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"testing"

	"pgregory.net/rapid"
)

func dialNetwork(addr netip.Addr) string {
	if addr.Is4() {
		return "tcp4"
	}
	return "tcp6"
}

func TestDialControlAgreesWithBlockedOnTable(t *testing.T) {
	for _, tc := range blockedTable {
		p := mustPolicy(t, tc.allow...)
		addr := netip.MustParseAddr(tc.addr)
		address := netip.AddrPortFrom(addr, 8443).String()
		err := p.DialControl()(dialNetwork(addr), address, nil)
		if refused := err != nil; refused != tc.blocked {
			t.Errorf("allow %v: DialControl(%s) = %v, want refused=%v", tc.allow, address, err, tc.blocked)
		}
		if err != nil && !IsRefused(err) {
			t.Errorf("DialControl(%s) error %v is not recognised by IsRefused", address, err)
		}
	}
}

// The ssrf Guardian inside the policy is configured from the same allow list
// and must decide exactly like Blocked, except where hookd deliberately adds
// to it: IPv4-mapped addresses (unmapped first), NAT64 (the embedded IPv4 is
// judged too) and zoned addresses (ssrf's allow list never matches a zoned
// address, so the guard strips the zone before asking ssrf).
func TestSSRFGuardianAgreesWithBlockedOnTable(t *testing.T) {
	mapped := netip.MustParsePrefix("::ffff:0:0/96")
	for _, tc := range blockedTable {
		addr := netip.MustParseAddr(tc.addr)
		if mapped.Contains(addr.WithZone("")) || nat64Prefix.Contains(addr.WithZone("")) || addr.Zone() != "" {
			continue
		}
		p := mustPolicy(t, tc.allow...)
		address := netip.AddrPortFrom(addr, 8443).String()
		err := p.guard.Safe(dialNetwork(addr), address, nil)
		if refused := err != nil; refused != tc.blocked {
			t.Errorf("allow %v: ssrf Safe(%s) = %v, want refused=%v", tc.allow, address, err, tc.blocked)
		}
	}
}

func TestPropertyDialControlAgreesWithBlocked(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := mustPolicy(t, randomAllowList(t)...)
		addr := interestingAddr(t, "addr")
		port := rapid.Uint16Range(1, 65535).Draw(t, "port")
		address := netip.AddrPortFrom(addr, port).String()
		err := p.DialControl()(dialNetwork(addr), address, nil)
		if (err != nil) != p.Blocked(addr) {
			t.Fatalf("DialControl(%s) = %v, Blocked = %v", address, err, p.Blocked(addr))
		}
	})
}

func TestDialControlRefusesNonTCPAndGarbage(t *testing.T) {
	p := mustPolicy(t, "0.0.0.0/0", "::/0")
	cases := []struct{ network, address string }{
		{"udp4", "8.8.8.8:53"},
		{"unix", "/run/docker.sock"},
		{"tcp4", "example.com:443"},
		{"tcp4", "8.8.8.8"},
		{"tcp6", "[::1"},
	}
	for _, tc := range cases {
		err := p.DialControl()(tc.network, tc.address, nil)
		if !IsRefused(err) {
			t.Errorf("DialControl(%s, %s) = %v, want a refusal", tc.network, tc.address, err)
		}
	}
	if err := p.DialControl()("tcp4", "8.8.8.8:443", nil); err != nil {
		t.Errorf("a public address on an allow-everything policy was refused: %v", err)
	}
}

func TestIsRefusedThroughWrapping(t *testing.T) {
	p := mustPolicy(t)
	guardErr := p.DialControl()("tcp4", "127.0.0.1:443", nil)
	wrapped := &url.Error{Op: "Post", URL: "https://127.0.0.1/", Err: &net.OpError{Op: "dial", Net: "tcp", Err: guardErr}}
	if !IsRefused(wrapped) {
		t.Errorf("IsRefused(%v) = false through *url.Error and *net.OpError", wrapped)
	}
	if IsRefused(fmt.Errorf("dial: %w", errors.New("connection refused"))) {
		t.Error("IsRefused is true for an ordinary connection error")
	}
	if IsRefused(nil) {
		t.Error("IsRefused(nil) = true")
	}
}
