package auth

import (
	"bytes"
	"crypto/sha256"
	"regexp"
	"testing"

	"github.com/hookd/hookd/internal/store"
)

func TestNewKeyFormat(t *testing.T) {
	for kind, re := range map[string]*regexp.Regexp{
		store.KindIntegration: regexp.MustCompile(`^sk-[0-9A-Za-z]{40}$`),
		store.KindDevice:      regexp.MustCompile(`^dk-[0-9A-Za-z]{40}$`),
	} {
		seen := map[string]bool{}
		for range 100 {
			raw, prefix, hash, err := NewKey(kind)
			if err != nil {
				t.Fatal(err)
			}
			if !re.MatchString(raw) {
				t.Fatalf("%s key %q does not match %s", kind, raw, re)
			}
			if len(prefix) != KeyPrefixLen || prefix != raw[:12] {
				t.Fatalf("prefix %q is not the first 12 characters of the key", prefix)
			}
			sum := sha256.Sum256([]byte(raw))
			if !bytes.Equal(hash, sum[:]) || !bytes.Equal(HashKey(raw), sum[:]) {
				t.Fatal("hash is not SHA-256 of the raw key")
			}
			if seen[raw] {
				t.Fatalf("duplicate key %q", raw)
			}
			seen[raw] = true
			if !wellFormedKey(raw) || keyKind(raw) != kind {
				t.Fatalf("a fresh %s key is not recognised as one", kind)
			}
		}
	}
}

func TestNewKeyRejectsUnknownKind(t *testing.T) {
	for _, kind := range []string{"", "admin", "sk", "Integration"} {
		if _, _, _, err := NewKey(kind); err == nil {
			t.Errorf("NewKey(%q) succeeded", kind)
		}
	}
}

func TestWellFormedKey(t *testing.T) {
	ok32 := "sk-" + string(bytes.Repeat([]byte("a"), 32))
	for key, want := range map[string]bool{
		ok32:               true,
		ok32[:len(ok32)-1]: false, // 31 random characters
		"sk-" + string(bytes.Repeat([]byte("Z9"), 128)): true,
		"sk-" + string(bytes.Repeat([]byte("Z"), 257)):  false,
		ok32[:10] + "-" + ok32[11:]:                     false,
		ok32[:10] + "é" + ok32[12:]:                     false,
	} {
		if got := wellFormedKey(key); got != want {
			t.Errorf("wellFormedKey(%q) = %v, want %v", key, got, want)
		}
	}
}
