package postgres

import (
	"context"

	"github.com/hookd/hookd/internal/store"
)

// IngestEvents writes events through the group-commit writer; see ingestTx
// for the semantics and groupcommit.go for how calls share a transaction.
func (s *Store) IngestEvents(ctx context.Context, events []store.NewEvent, opt store.IngestOptions) ([]store.IngestResult, error) {
	if len(events) == 0 {
		return []store.IngestResult{}, nil
	}
	items := make([]*ingestItem, len(events))
	for i, ev := range events {
		items[i] = &ingestItem{ev: ev, lease: opt.Lease}
	}
	c := &writeCall{ctx: ctx, ingest: items}
	if err := s.writer.submit(c); err != nil {
		return nil, err
	}
	store.ObserveIngest(s.obs, events, c.results)
	return c.results, nil
}

// RecordOutcomes writes attempts and delivery states through the
// group-commit writer; see outcomesTx.
func (s *Store) RecordOutcomes(ctx context.Context, outcomes []store.Outcome) error {
	if len(outcomes) == 0 {
		return nil
	}
	return s.writer.submit(&writeCall{ctx: ctx, outcomes: outcomes})
}
