package netguard

import (
	"errors"
	"fmt"
	"net/netip"
	"syscall"
)

// ErrRefused is wrapped by every error the dial-time guard returns, so a
// delivery attempt can tell "the network policy said no" from an ordinary
// connection failure. Use [IsRefused] on errors from an http.Client.
var ErrRefused = errors.New("destination refused by network policy")

// AllowHint tells whoever reads a refusal (a webhook's owner in the API or
// the delivery log, who may well be the operator) that the policy is not
// fixed: without it, a refused destination on a private network looks like
// a bug of hookd.
const AllowHint = "hookd serve --allow-cidr permits a range"

// IsRefused reports whether err (from a dial, or an http.Client call that
// wraps one in *url.Error and *net.OpError) was caused by the dial-time guard.
func IsRefused(err error) bool {
	return errors.Is(err, ErrRefused)
}

// DialControl returns a function for net.Dialer.Control. The dialer calls it
// for every address it tries, after DNS resolution and before connecting, so
// the decision applies to the IP actually dialled.
//
// It makes the same decision as [Policy.Blocked] (the ssrf Guardian inside
// the policy runs as part of it, with any port permitted). Only TCP is
// permitted, as ssrf does by default.
func (p *Policy) DialControl() func(network, address string, c syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		return p.checkDial(network, address)
	}
}

func (p *Policy) checkDial(network, address string) error {
	if network != "tcp4" && network != "tcp6" {
		return fmt.Errorf("%w: network %q is not permitted", ErrRefused, network)
	}
	addrPort, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot parse address %q", ErrRefused, address)
	}
	if why := p.refusal(addrPort.Addr()); why != "" {
		return fmt.Errorf("%w: %s", ErrRefused, why)
	}
	return nil
}
