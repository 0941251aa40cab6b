package masterkey

import (
	"context"
	"fmt"
	"slices"

	"github.com/hookd/hookd/internal/secretbox"
)

// MetaStore is the part of store.Store that records fingerprints.
type MetaStore interface {
	EnsureMeta(ctx context.Context, key, value string) (string, error)
	SwapMeta(ctx context.Context, key, old, value string) (bool, error)
}

// maxSwaps bounds the compare-and-swap loops: each retry means another
// process changed the record in between, which happens a handful of times at
// most (processes starting together).
const maxSwaps = 20

// Check admits box (a process's keys) to the store, recording the sealing
// key's fingerprint when the store does not know it yet (see Admit). It
// returns the set now recorded.
func Check(ctx context.Context, st MetaStore, box *secretbox.Box) (Set, error) {
	for range maxSwaps {
		recorded, err := st.EnsureMeta(ctx, MetaKey, box.Fingerprint())
		if err != nil {
			return nil, fmt.Errorf("recording the master key fingerprint: %w", err)
		}
		have := ParseSet(recorded)
		want, err := Admit(have, box.Fingerprints())
		if err != nil {
			return nil, err
		}
		if slices.Equal(want, have) {
			return have, nil
		}
		ok, err := st.SwapMeta(ctx, MetaKey, recorded, want.String())
		if err != nil {
			return nil, fmt.Errorf("recording the master key fingerprint: %w", err)
		}
		if ok {
			return want, nil
		}
	}
	return nil, fmt.Errorf("recording the master key fingerprint: the record kept changing under this process (%d attempts)", maxSwaps)
}
