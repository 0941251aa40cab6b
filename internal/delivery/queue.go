package delivery

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/hookd/hookd/internal/store"
)

// Queue is the delivery engine's view of the store: the deliveries table as
// a queue, owner liveness, and the conversion of accepted recoveries. Both
// stores implement it (store.Store is a superset).
type Queue interface {
	// Register makes this process's owner identity (see store.Registration).
	Register(ctx context.Context) (store.Registration, error)
	// ReapDeadOwners voids the leases of owners that died.
	ReapDeadOwners(ctx context.Context, now time.Time) (int, error)
	Lease(ctx context.Context, req store.LeaseRequest) (store.LeaseResult, error)
	RecordOutcomes(ctx context.Context, outcomes []store.Outcome) error
	ReleaseLeases(ctx context.Context, owner string, ids []uuid.UUID) error
	ReleaseLeasesExcept(ctx context.Context, owner string, keep []uuid.UUID) (int, error)
	ConvertRecoveries(ctx context.Context, now time.Time, limit int) (int, error)
	// Wakeups signals when another process may have made work due; nil when
	// the store has no such channel.
	Wakeups() <-chan struct{}
}

var _ Queue = store.Store(nil)
