package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// KeySize is the length of a master key in bytes (AES-256).
const KeySize = 32

const (
	nonceSize = 12
	tagSize   = 16
	// fingerprintLabel is versioned so a future scheme cannot collide with it.
	fingerprintLabel = "hookd master-key fingerprint v1"
)

// ErrOpen is returned by Open for any ciphertext that does not authenticate:
// corrupted, truncated, tampered with or sealed under another key. GCM cannot
// tell these apart, and callers need not either.
var ErrOpen = errors.New("secretbox: ciphertext is corrupt or was sealed with another key")

// Box seals secrets under one master key and opens what that key, or any
// of its previous keys, sealed: during a master-key rotation some secrets
// are still sealed under the old key while others are already under the new
// one, and every process must read both. It is safe for concurrent use.
type Box struct {
	keys []boxKey // keys[0] seals; all open, in order
}

type boxKey struct {
	aead        cipher.AEAD
	fingerprint string
}

// ParseKey decodes a base64 master key (standard or URL alphabet, padded or
// not) that must hold exactly 32 bytes. Error messages never repeat the key.
func ParseKey(b64 string) ([]byte, error) {
	s := strings.TrimSpace(b64)
	if s == "" {
		return nil, errors.New("master key is empty: want base64 of 32 bytes")
	}
	encodings := []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
	}
	for _, enc := range encodings {
		key, err := enc.DecodeString(s)
		if err != nil {
			continue
		}
		if len(key) != KeySize {
			return nil, fmt.Errorf("master key decodes to %d bytes: want exactly %d (base64 of 32 random bytes)", len(key), KeySize)
		}
		return key, nil
	}
	return nil, errors.New("master key is not valid base64: want base64 of 32 bytes")
}

// New returns a Box that seals under key (32 bytes) and opens what key or
// any of the previous keys sealed. A previous key equal to key, or given
// twice, is used once.
func New(key []byte, previous ...[]byte) (*Box, error) {
	b := &Box{}
	for i, k := range append([][]byte{key}, previous...) {
		bk, err := newBoxKey(k)
		if err != nil {
			if i > 0 {
				return nil, fmt.Errorf("previous key %d: %w", i, err)
			}
			return nil, err
		}
		if !slices.ContainsFunc(b.keys, func(o boxKey) bool { return o.fingerprint == bk.fingerprint }) {
			b.keys = append(b.keys, bk)
		}
	}
	return b, nil
}

func newBoxKey(key []byte) (boxKey, error) {
	if len(key) != KeySize {
		return boxKey{}, fmt.Errorf("secretbox: key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return boxKey{}, fmt.Errorf("secretbox: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return boxKey{}, fmt.Errorf("secretbox: %w", err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(fingerprintLabel))
	return boxKey{aead: aead, fingerprint: hex.EncodeToString(mac.Sum(nil)[:16])}, nil
}

// Seal encrypts plaintext under the Box's key as nonce || ciphertext || tag.
// Random 96-bit nonces are safe far beyond the number of secrets hookd will
// ever seal.
func (b *Box) Seal(plaintext []byte) []byte {
	out := make([]byte, nonceSize, nonceSize+len(plaintext)+tagSize)
	// crypto/rand.Read never returns an error (Go 1.24+): it aborts the
	// process instead of handing out a weak nonce.
	_, _ = rand.Read(out)
	return b.keys[0].aead.Seal(out, out[:nonceSize], plaintext, nil)
}

// Open authenticates and decrypts what Seal produced under the Box's key or
// one of its previous keys.
func (b *Box) Open(ct []byte) ([]byte, error) {
	if len(ct) < nonceSize+tagSize {
		return nil, ErrOpen
	}
	for _, k := range b.keys {
		if pt, err := k.aead.Open(nil, ct[:nonceSize], ct[nonceSize:], nil); err == nil {
			return pt, nil
		}
	}
	return nil, ErrOpen
}

// Fingerprint is a stable, non-reversible identifier of the key that seals:
// 32 hex characters of HMAC-SHA256(key, label).
func (b *Box) Fingerprint() string { return b.keys[0].fingerprint }

// Fingerprints names every key the Box opens with, the sealing key first.
func (b *Box) Fingerprints() []string {
	out := make([]string, len(b.keys))
	for i, k := range b.keys {
		out[i] = k.fingerprint
	}
	return out
}
