// Package auth decides who is calling hookd and what they may do (SPEC §2).
//
// Authenticate turns the Authorization and X-Team-ID headers into a
// Principal, by one of two paths:
//
//   - API keys ("sk-…" integration, "dk-…" device) are looked up by their
//     SHA-256 hash; only the hash and a 12-character prefix are stored. The
//     team comes from the key row, never from X-Team-ID. An integration key
//     acts as an admin of its team; a device key acts as its user with that
//     user's role as it is now, so demoting or removing the user takes effect
//     at once.
//   - Anything else is a JWT (Verifier): HS256 with a shared secret and/or
//     RS256/ES256/EdDSA against a JWKS URL. The accepted algorithms follow
//     from what is configured, and each algorithm only ever gets its own kind
//     of key, which rules out "none" and algorithm confusion. The team comes
//     from X-Team-ID and the role from membership.
//
// Can is the whole authorization policy as one pure function over
// (Principal, Action). Failures are *Error values carrying the HTTP status
// and a message that names the header at fault and never echoes a
// credential; any other error from Authenticate is a store failure (500).
package auth
