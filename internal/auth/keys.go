package auth

import (
	"crypto/sha256"
	"fmt"
	"strings"

	"github.com/hookd/hookd/internal/secretbox"
	"github.com/hookd/hookd/internal/store"
)

const (
	integrationKeyPrefix = "sk-"
	deviceKeyPrefix      = "dk-"
	// keyRandomLen random base62 characters follow the prefix (≈238 bits).
	keyRandomLen = 40
	// KeyPrefixLen is how many leading characters of a raw key are stored
	// and shown (key_prefix) so people can tell keys apart.
	KeyPrefixLen = 12
	// minKeyRandomLen and maxKeyRandomLen bound what Authenticate will look
	// up: SPEC allows any length ≥ 32; the upper bound stops junk early.
	minKeyRandomLen = 32
	maxKeyRandomLen = 256
)

// NewKey makes a raw API key of the given kind (store.KindIntegration →
// "sk-…", store.KindDevice → "dk-…"), its display prefix and its hash. The
// raw key is shown once and never stored.
func NewKey(kind string) (raw, prefix string, hash []byte, err error) {
	var p string
	switch kind {
	case store.KindIntegration:
		p = integrationKeyPrefix
	case store.KindDevice:
		p = deviceKeyPrefix
	default:
		return "", "", nil, fmt.Errorf("auth: unknown key kind %q (want %q or %q)", kind, store.KindIntegration, store.KindDevice)
	}
	raw, err = secretbox.GenerateSecret(p, keyRandomLen)
	if err != nil {
		return "", "", nil, err
	}
	return raw, raw[:KeyPrefixLen], HashKey(raw), nil
}

// HashKey is the stored form of a raw key: SHA-256. Keys carry ~238 bits of
// randomness, so a fast unsalted hash is enough and allows lookup by hash.
func HashKey(raw string) []byte {
	h := sha256.Sum256([]byte(raw))
	return h[:]
}

// keyKind returns the credential kind a bearer token claims by its prefix,
// or "" when the token is not an API key (so it is taken for a JWT).
func keyKind(token string) string {
	switch {
	case strings.HasPrefix(token, integrationKeyPrefix):
		return store.KindIntegration
	case strings.HasPrefix(token, deviceKeyPrefix):
		return store.KindDevice
	}
	return ""
}

// wellFormedKey checks the shape of a raw key after its 3-character prefix.
func wellFormedKey(token string) bool {
	body := token[len(integrationKeyPrefix):]
	if len(body) < minKeyRandomLen || len(body) > maxKeyRandomLen {
		return false
	}
	for i := 0; i < len(body); i++ {
		if strings.IndexByte(secretbox.Base62Alphabet, body[i]) < 0 {
			return false
		}
	}
	return true
}
