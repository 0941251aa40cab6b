package sqlite

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/hookd/hookd/internal/store"
)

// InUseError: another process holds the file exclusively (a running
// `hookd serve`).
type InUseError struct {
	Path string // the lock file
	PID  int    // the holder, when it could be read (0 otherwise)
}

func (e *InUseError) Error() string {
	who := "another process"
	if e.PID > 0 {
		who = fmt.Sprintf("another process (pid %d)", e.PID)
	}
	return fmt.Sprintf("the embedded store is in use by %s: only one hookd serve may use a data directory (lock %s); stop it, or give this one another --data-dir", who, e.Path)
}

// errNotExclusive: Register on a store not opened with Options.Exclusive.
var errNotExclusive = errors.New("sqlite store: running deliveries needs the store opened exclusively (Options.Exclusive)")

// registration is the embedded store's owner identity. Its proof of life is
// the exclusive file lock, held as long as the store is open, so it is never
// lost while the process runs.
type registration struct{ owner string }

func (r registration) Owner() string         { return r.owner }
func (r registration) Lost() <-chan struct{} { return nil }
func (r registration) Close() error          { return nil }

// Register makes a fresh owner identity and voids every live lease of any
// other owner: with the file locked, this process is the only one that can
// run deliveries, so every other owner is a process that died (or this
// process's own earlier identity). The rows are due again at once.
func (s *Store) Register(ctx context.Context) (store.Registration, error) {
	if s.lock == nil {
		return nil, errNotExclusive
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	owner := "local-" + hex.EncodeToString(b[:])
	err := s.write(ctx, func(w *wtx) error {
		_, err := w.exec(`UPDATE deliveries INDEXED BY deliveries_queue SET queue_at = next_attempt_at, lease_owner = NULL
			WHERE status = 'pending' AND queue_at > ? AND lease_owner IS NOT NULL AND lease_owner <> ?`,
			ts(time.Now()), owner)
		return err
	})
	if err != nil {
		return nil, err
	}
	return registration{owner: owner}, nil
}

// ReapDeadOwners has nothing to do on the embedded store: Register already
// voided every other owner's leases, and no other process can lease while
// this one holds the file.
func (s *Store) ReapDeadOwners(context.Context, time.Time) (int, error) { return 0, nil }
