package store

import "time"

// Observer is told what a store did, for metrics. A store calls it after
// the fact (a commit round ended, deliveries were committed) from the
// goroutine that did the work, so it must be quick and must not call the
// store. Both stores take one in their Options; nil means NopObserver.
type Observer interface {
	// CommitRound reports one group-commit round: the writes of several
	// callers sharing one transaction and one commit.
	CommitRound(r Round)
	// DeliveriesCreated reports n new deliveries of eventType, committed
	// for source (one of the Source constants).
	DeliveriesCreated(source, eventType string, n int)
}

// Where new deliveries come from.
const (
	SourceIngest    = "ingest"    // task events fanned out to subscribed webhooks
	SourceRedeliver = "redeliver" // POST …/redeliver
	SourceTest      = "test"      // POST …/test (event type webhook.test)
	SourceRecover   = "recover"   // redeliveries created for a recover call
)

// Round is one group-commit round.
type Round struct {
	// Calls is how many callers' writes shared the round (on SQLite every
	// write: ingest, leases, outcomes, administration; on PostgreSQL the
	// ingest and outcome calls).
	Calls int
	// Sync: the commit waited for the write-ahead log to reach the disk
	// (rounds holding an ingest or an administrative write). Rounds of
	// queue bookkeeping only (leases, outcomes) commit without the flush.
	Sync bool
	// Duration runs from the start of the transaction to the end of the
	// commit (or of the failure), retries of the whole round included.
	Duration time.Duration
	// Err is nil when the round committed.
	Err error
}

// NopObserver ignores everything.
type NopObserver struct{}

func (NopObserver) CommitRound(Round)                     {}
func (NopObserver) DeliveriesCreated(string, string, int) {}

// ObserveIngest reports the deliveries an IngestEvents call created: the
// fan-out of each new event (not of repeats, which create nothing).
func ObserveIngest(o Observer, events []NewEvent, results []IngestResult) {
	for i, r := range results {
		if r.Err == nil && !r.Duplicate && r.DeliveryCount > 0 && i < len(events) {
			o.DeliveriesCreated(SourceIngest, events[i].EventType, r.DeliveryCount)
		}
	}
}
