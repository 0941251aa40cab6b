// Package netguard decides where hookd may connect (SPEC §6) and checks
// webhook URLs when they are created or updated (SPEC §3).
//
// One [Policy] serves both moments, so they cannot disagree:
//
//   - At create/update time, [Policy.CheckURL] validates the URL's shape and,
//     without any DNS lookup, rejects hosts that are IP literals (in every form
//     net/netip accepts) or localhost names in a blocked range.
//   - At dial time, [Policy.DialControl] runs as net.Dialer.Control on the
//     address the resolver actually produced, so DNS rebinding cannot get
//     around it. Refusals wrap [ErrRefused]; see [IsRefused].
//
// Both end in [Policy.Blocked]: hookd's own list of SPEC §6 ranges, plus
// everything code.dny.dev/ssrf denies (IANA special-purpose registries, and all
// IPv6 outside 2000::/3). IPv4-mapped addresses are unmapped first; NAT64
// addresses (64:ff9b::/96) are judged by the IPv4 address they embed as well
// as by their own IPv6 form. Prefixes from --allow-cidr win over the deny lists.
//
// [NewClient] builds the one shared HTTP client for deliveries: the guarded
// dialer, no proxy from the environment, TLS always verified, redirects never
// followed.
package netguard
