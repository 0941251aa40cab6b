package delivery

import (
	"sync"

	"github.com/hookd/hookd/internal/secretbox"
)

// secretCache remembers decrypted webhook secrets by ciphertext, so a busy
// webhook costs one AES-GCM open per rotation rather than one per attempt.
// Keying by ciphertext makes a rotation a cache miss: the new secret signs
// the very next attempt without any invalidation.
type secretCache struct {
	box   *secretbox.Box
	limit int

	mu      sync.Mutex
	secrets map[string]string
}

func newSecretCache(box *secretbox.Box, limit int) *secretCache {
	return &secretCache{box: box, limit: limit, secrets: make(map[string]string)}
}

func (c *secretCache) get(enc []byte) (string, error) {
	c.mu.Lock()
	secret, ok := c.secrets[string(enc)] // no allocation for the lookup
	c.mu.Unlock()
	if ok {
		return secret, nil
	}
	plain, err := c.box.Open(enc)
	if err != nil {
		return "", err
	}
	secret = string(plain)
	c.mu.Lock()
	if len(c.secrets) >= c.limit {
		// Evict an arbitrary entry: map order is random enough to keep the
		// bound without the bookkeeping of an LRU.
		for k := range c.secrets {
			delete(c.secrets, k)
			break
		}
	}
	c.secrets[string(enc)] = secret
	c.mu.Unlock()
	return secret, nil
}

func (c *secretCache) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.secrets)
}
