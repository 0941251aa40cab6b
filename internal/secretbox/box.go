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

// Box seals and opens secrets under one master key. It is safe for
// concurrent use.
type Box struct {
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

// New returns a Box for a 32-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secretbox: key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secretbox: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secretbox: %w", err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(fingerprintLabel))
	return &Box{aead: aead, fingerprint: hex.EncodeToString(mac.Sum(nil)[:16])}, nil
}

// Seal encrypts plaintext as nonce || ciphertext || tag. Random 96-bit
// nonces are safe far beyond the number of secrets hookd will ever seal.
func (b *Box) Seal(plaintext []byte) []byte {
	out := make([]byte, nonceSize, nonceSize+len(plaintext)+tagSize)
	// crypto/rand.Read never returns an error (Go 1.24+): it aborts the
	// process instead of handing out a weak nonce.
	_, _ = rand.Read(out)
	return b.aead.Seal(out, out[:nonceSize], plaintext, nil)
}

// Open authenticates and decrypts what Seal produced.
func (b *Box) Open(ct []byte) ([]byte, error) {
	if len(ct) < nonceSize+tagSize {
		return nil, ErrOpen
	}
	pt, err := b.aead.Open(nil, ct[:nonceSize], ct[nonceSize:], nil)
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// Fingerprint is a stable, non-reversible identifier of the key: 32 hex
// characters of HMAC-SHA256(key, label).
func (b *Box) Fingerprint() string { return b.fingerprint }
