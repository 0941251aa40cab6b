// Package secretbox keeps hookd's secrets safe at rest and makes new ones.
//
// Webhook secrets must be readable again (they sign every delivery and are
// shown to admins), so they are encrypted, not hashed: a Box seals them with
// AES-256-GCM under the 32-byte master key, as nonce || ciphertext || tag,
// with a fresh random 12-byte nonce each time. The store only ever sees the
// sealed bytes. A Box also names its key by a Fingerprint (an HMAC of a fixed
// label, so the key cannot be recovered from it); the store records it, and a
// process started with another key refuses to run instead of failing to
// decrypt later. A Box may also hold previous keys that open but never seal:
// that is how every process reads both old and new ciphertexts while
// `hookd keys rotate-master` re-encrypts the secrets under a new key.
//
// Key files: on the embedded store the master key and the JWT secret are
// generated into the data directory on first use (LoadOrCreateFile). They are
// created atomically with mode 0600, and a file that group or others can read
// is refused, as ssh does with private keys: a leaked master key exposes every
// webhook secret.
//
// Random strings (webhook secrets, API keys, JWT secrets) come from
// GenerateSecret: crypto/rand bytes mapped to base62 by rejection sampling so
// every character is exactly equally likely.
package secretbox
