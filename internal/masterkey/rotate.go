package masterkey

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/hookd/hookd/internal/secretbox"
	"github.com/hookd/hookd/internal/store"
)

// Store is what a rotation needs of store.Store.
type Store interface {
	MetaStore
	WebhookSecrets(ctx context.Context, after uuid.UUID, limit int) ([]store.WebhookSecret, error)
	ReplaceWebhookSecret(ctx context.Context, id uuid.UUID, old, value []byte) (bool, error)
}

// Options tune Rotate.
type Options struct {
	// BatchSize is how many webhooks each read takes (default 500).
	BatchSize int
	// LiveServers, when set, counts the serving processes (PostgreSQL). A
	// rotation refuses to seal under a key that no running server has
	// recorded: those servers could not open the new secrets.
	LiveServers func(ctx context.Context) (int, error)
}

// Result is what a rotation did.
type Result struct {
	Fingerprint    string // the new key's
	Retired        Set    // fingerprints no longer recorded
	Webhooks       int    // webhooks seen by the last pass
	Reencrypted    int    // secrets sealed anew under the new key, all passes
	AlreadyCurrent int    // secrets already under the new key at the first pass
	Passes         int
}

// Errors of Rotate, for errors.Is.
var (
	// ErrUnknownKey: the store records a key the rotation was not given.
	ErrUnknownKey = errors.New("masterkey: the store records a master key that was not given")
	// ErrServersLackKey: servers run, and none has recorded the new key.
	ErrServersLackKey = errors.New("masterkey: running servers do not have the new key")
	// ErrUndecryptable: some secrets open under none of the given keys.
	ErrUndecryptable = errors.New("masterkey: secrets that no given key opens")
)

// maxPasses bounds the passes over the webhooks: a pass repeats only for
// secrets that changed under it (a rotate-secret, or a server still sealing
// under the old key), which a healthy deployment does not keep doing.
const maxPasses = 10

// Rotate moves every webhook secret of st from the keys of old (a process's
// --master-key and --previous-master-keys) to next's key:
//
//  1. next's fingerprint is recorded beside the old ones, so that from now
//     on only processes holding it may start;
//  2. passes over every webhook re-seal each secret that next does not open
//     yet (compare-and-swap on the ciphertext), until a whole pass finds
//     nothing to change;
//  3. next's fingerprint is recorded alone.
//
// Running it again changes nothing; after an interruption it finishes the
// job. It never writes a secret it could not open: one that no given key
// opens stops it before step 3 with ErrUndecryptable.
func Rotate(ctx context.Context, st Store, old, next *secretbox.Box, opt Options) (Result, error) {
	if opt.BatchSize <= 0 {
		opt.BatchSize = 500
	}
	res := Result{Fingerprint: next.Fingerprint()}
	known := append(old.Fingerprints(), next.Fingerprint())
	if err := announce(ctx, st, next.Fingerprint(), known, opt); err != nil {
		return res, err
	}
	for {
		res.Passes++
		p, err := pass(ctx, st, old, next, opt.BatchSize)
		if err != nil {
			return res, err
		}
		if res.Passes == 1 {
			res.AlreadyCurrent = p.current
		}
		res.Webhooks = p.seen
		res.Reencrypted += p.resealed
		if len(p.undecryptable) > 0 {
			return res, fmt.Errorf("%w: %d webhook(s), e.g. %s; the new key was not recorded alone, nothing is lost: "+
				"give the key they were sealed with as --previous-master-key and run this again",
				ErrUndecryptable, len(p.undecryptable), p.undecryptable[0])
		}
		if p.resealed == 0 && p.lost == 0 {
			break
		}
		if res.Passes == maxPasses {
			return res, fmt.Errorf("masterkey: secrets kept changing under the rotation for %d passes: "+
				"is a server still running with the old key as --master-key? Run this again once every server seals with the new key", maxPasses)
		}
	}
	retired, err := retire(ctx, st, next.Fingerprint(), known)
	res.Retired = retired
	return res, err
}

// announce records fp beside the recorded fingerprints (step 1).
func announce(ctx context.Context, st Store, fp string, known []string, opt Options) error {
	for range maxSwaps {
		recorded, err := st.EnsureMeta(ctx, MetaKey, fp)
		if err != nil {
			return err
		}
		have := ParseSet(recorded)
		if missing := have.Missing(known); len(missing) > 0 {
			return fmt.Errorf("%w: the store's webhook secrets may be sealed under master key fingerprint %s, "+
				"which is neither --master-key nor a --previous-master-key here", ErrUnknownKey, strings.Join(missing, ", "))
		}
		if have.Has(fp) {
			return nil
		}
		if opt.LiveServers != nil {
			n, err := opt.LiveServers(ctx)
			if err != nil {
				return err
			}
			if n > 0 {
				return fmt.Errorf("%w: %d hookd serve process(es) run on this store and none has started with the new key "+
					"(fingerprint %s), so they could not open what this would seal. Restart them with the new key as --master-key "+
					"and the old one as --previous-master-key (the first to start records it), then run this again",
					ErrServersLackKey, n, fp)
			}
		}
		ok, err := st.SwapMeta(ctx, MetaKey, recorded, have.With(fp).String())
		if err != nil || ok {
			return err
		}
	}
	return fmt.Errorf("masterkey: the recorded fingerprints kept changing (%d attempts)", maxSwaps)
}

type passStats struct {
	seen, current, resealed, lost int
	undecryptable                 []uuid.UUID
}

// pass walks every webhook once (step 2).
func pass(ctx context.Context, st Store, old, next *secretbox.Box, batch int) (passStats, error) {
	var p passStats
	after := uuid.Nil
	for {
		page, err := st.WebhookSecrets(ctx, after, batch)
		if err != nil {
			return p, err
		}
		if len(page) == 0 {
			return p, nil
		}
		for _, w := range page {
			p.seen++
			if _, err := next.Open(w.SecretEnc); err == nil {
				p.current++
				continue
			}
			plain, err := old.Open(w.SecretEnc)
			if err != nil {
				p.undecryptable = append(p.undecryptable, w.ID)
				continue
			}
			ok, err := st.ReplaceWebhookSecret(ctx, w.ID, w.SecretEnc, next.Seal(plain))
			if err != nil {
				return p, err
			}
			if ok {
				p.resealed++
			} else {
				p.lost++ // rotated or deleted meanwhile: the next pass looks again
			}
		}
		after = page[len(page)-1].ID
	}
}

// retire records fp alone (step 3) and returns the fingerprints dropped.
func retire(ctx context.Context, st Store, fp string, known []string) (Set, error) {
	for range maxSwaps {
		recorded, err := st.EnsureMeta(ctx, MetaKey, fp)
		if err != nil {
			return nil, err
		}
		have := ParseSet(recorded)
		if slices.Equal(have, Set{fp}) {
			return nil, nil
		}
		if missing := have.Missing(known); len(missing) > 0 {
			return nil, fmt.Errorf("%w: a process started meanwhile with master key fingerprint %s; run this again with that key given",
				ErrUnknownKey, strings.Join(missing, ", "))
		}
		ok, err := st.SwapMeta(ctx, MetaKey, recorded, fp)
		if err != nil {
			return nil, err
		}
		if ok {
			var dropped Set
			for _, f := range have {
				if f != fp {
					dropped = append(dropped, f)
				}
			}
			return dropped, nil
		}
	}
	return nil, fmt.Errorf("masterkey: the recorded fingerprints kept changing (%d attempts)", maxSwaps)
}
