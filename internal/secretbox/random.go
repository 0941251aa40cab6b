package secretbox

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
)

// Base62Alphabet is the character set of generated secrets and keys.
const Base62Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// acceptBelow is the largest multiple of 62 that fits in a byte (4*62):
// bytes at or above it are discarded so that b%62 is exactly uniform.
const acceptBelow = 248

// maxSecretLen bounds GenerateSecret so a bad argument cannot exhaust memory.
const maxSecretLen = 4096

// GenerateKey returns a new master key: standard base64 of 32 random bytes.
func GenerateKey() (string, error) {
	key := make([]byte, KeySize)
	_, _ = rand.Read(key) // never fails (Go 1.24+)
	return base64.StdEncoding.EncodeToString(key), nil
}

// GenerateSecret returns prefix followed by n random base62 characters, each
// drawn uniformly from Base62Alphabet (about 5.95 bits each: n=32 gives 190
// bits, n=40 gives 238).
func GenerateSecret(prefix string, n int) (string, error) {
	if n < 1 || n > maxSecretLen {
		return "", errors.New("secretbox: secret length must be between 1 and 4096")
	}
	body, err := base62(rand.Reader, n)
	if err != nil {
		return "", err
	}
	return prefix + body, nil
}

// base62 reads random bytes from src and keeps those below acceptBelow,
// mapping each to Base62Alphabet[b%62] (rejection sampling: each of the 62
// characters comes from exactly 4 of the 248 accepted byte values).
func base62(src io.Reader, n int) (string, error) {
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/8+8) // about 3% of bytes are rejected
	for len(out) < n {
		if _, err := io.ReadFull(src, buf); err != nil {
			return "", errors.New("secretbox: reading random bytes: " + err.Error())
		}
		for _, b := range buf {
			if b >= acceptBelow {
				continue
			}
			out = append(out, Base62Alphabet[b%62])
			if len(out) == n {
				break
			}
		}
	}
	return string(out), nil
}
