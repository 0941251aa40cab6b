package delivery

import (
	"bytes"
	"testing"

	"github.com/hookd/hookd/internal/secretbox"
)

// During a master-key rotation a process holds the new key and the old one:
// the cache opens secrets sealed under either, and a secret re-sealed under
// the new key (a new ciphertext) is simply a miss that opens to the same
// secret.
func TestSecretCacheOpensUnderEveryKeyOfTheBox(t *testing.T) {
	oldKey, newKey := bytes.Repeat([]byte{1}, secretbox.KeySize), bytes.Repeat([]byte{2}, secretbox.KeySize)
	oldBox, _ := secretbox.New(oldKey)
	ring, _ := secretbox.New(newKey, oldKey)
	c := newSecretCache(ring, 8)
	underOld := oldBox.Seal([]byte("whsec_same"))
	resealed := ring.Seal([]byte("whsec_same"))
	for _, ct := range [][]byte{underOld, resealed, underOld} {
		got, err := c.get(ct)
		if err != nil || got != "whsec_same" {
			t.Fatalf("get = %q, %v", got, err)
		}
	}
	if c.size() != 2 {
		t.Fatalf("cache holds %d entries, want one per ciphertext", c.size())
	}
	other, _ := secretbox.New(bytes.Repeat([]byte{3}, secretbox.KeySize))
	if _, err := c.get(other.Seal([]byte("x"))); err == nil {
		t.Fatal("a secret under a key the process lacks was opened")
	}
}
