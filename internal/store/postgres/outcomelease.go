package postgres

import (
	"context"

	"github.com/hookd/hookd/internal/store"
)

// RecordOutcomesAndLease records outcomes and leases in one transaction of
// Lease's two round trips (store.OutcomeLeaser): the outcome statements of
// RecordOutcomes ride in the lease's first round trip, after its setup, so
// the transaction commits without waiting for the WAL flush, like outcome-only
// rounds and leases already do (a lost outcome or lease means the attempt is
// redone once the lease expires: at-least-once holds). A retry scheduled by
// the outcomes notifies other processes at commit, as RecordOutcomes does.
// On error the transaction is rolled back: neither the outcomes nor the
// lease happened.
//
// Unlike RecordOutcomes, this does not go through the group-commit writer:
// the call already shares its commit with a lease, and the writer would
// make it wait for the round of ingests ahead of it.
func (s *Store) RecordOutcomesAndLease(ctx context.Context, outcomes []store.Outcome, req store.LeaseRequest) (store.LeaseResult, error) {
	return s.lease(ctx, "record outcomes and lease", outcomes, req)
}

var _ store.OutcomeLeaser = (*Store)(nil)
