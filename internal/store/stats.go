package store

import "time"

// QueueStats is a snapshot of the deliveries a store keeps, cheap enough to
// read at every metrics scrape: the totals per status come from
// delivery_counts (kept with every change), the rest from the queue and log
// indexes.
//
// Pending and Leased split the rows in status pending: Leased is those held
// under a lease that has not expired at the time asked about (an attempt is
// in flight) and ends within the lease duration asked about; Pending is the others, waiting to be due (a retry) or due and
// waiting for a lane. A lease that expired (its process died) counts as
// pending: its delivery is due again. Every delivery kept is in exactly one
// of the five counts.
type QueueStats struct {
	Pending   int64
	Leased    int64
	Succeeded int64
	Failed    int64
	Canceled  int64
	// OldestPending is the creation time of the oldest delivery in status
	// pending (leased or not); nil when none is. With a finite retry
	// schedule a delivery stays pending about as long as the schedule's
	// waits and attempts take, so an old one means deliveries are not being
	// made: a stuck engine, or a backlog larger than the lanes drain.
	OldestPending *time.Time
	// OverdueSince is the earliest queue position at or before the time
	// asked about: the due time of the delivery that has waited longest to
	// be leased since it became due (or the expiry of a dead process's
	// lease). Nil when nothing pending is due.
	OverdueSince *time.Time
}

// Total is every delivery kept, in any status.
func (q QueueStats) Total() int64 {
	return q.Pending + q.Leased + q.Succeeded + q.Failed + q.Canceled
}
