// Package delivery turns pending deliveries in the store into signed HTTP
// POSTs with SPEC §5's retry policy.
//
// The data path inside one process:
//
//	ingest ──IngestLease/Dispatch──▶ lanes        (leased inside the ingest transaction)
//	dispatcher ──Queue.Lease──────▶ lanes        (due rows, a lane's window at a time)
//	lanes ──▶ workers ──sender──▶ receiver        (a freed slot takes the lane's next delivery at once)
//	workers ──▶ completer ──RecordOutcomes──▶ store (batched; nothing waits for it)
//
// Lanes bound the work: each webhook runs at most PerWebhook attempts and
// holds up to twice that many leased deliveries ahead of them (its window),
// and the process runs at most Workers attempts. A delivery is leased only
// after a place is reserved for it (LeaseRequest.Admit), so nothing is held
// in memory that has nowhere to wait; what does not fit stays in the store.
// When an attempt ends, its worker hands the outcome to the completer and
// starts the lane's next delivery without a store round trip; the
// dispatcher is asked to refill a lane once half its window is free, so one
// lease round (one commit) serves many attempts. Workers freed under global
// contention go to waiting lanes round robin: a busy webhook cannot starve
// another, and a hung endpoint holds its own slots and a share of the
// window budget, never another webhook's slots.
//
// A lease is (owner, expiry): Timeout plus a margin, never renewed; a
// delivery starts only while its lease still covers an attempt. The owner is
// this process's registered identity (Queue.Register): the store holds a
// proof of life for it (an OS file lock on SQLite, a session advisory lock
// on PostgreSQL), every process voids the leases of owners that died
// (Queue.ReapDeadOwners, every half second), and a process that loses its own
// proof abandons its attempts in flight and registers anew, so two live
// processes never send one delivery at once. An expiring lease is only the
// last resort.
//
// The completer writes outcomes in batches (a few milliseconds of them per
// store call). It is the only outcome path: an engine that recorded an
// outcome and leased the lane's next delivery in one store round needed a
// second one, but a lane's window already holds that next delivery, so
// nothing waits for an outcome to be written. An outcome applies only while its lease is held, so a late
// one never overwrites a newer attempt. A write that failed but may have
// committed (an ingest, a lease round) makes the dispatcher give back every
// lease of this owner it does not hold in memory. The webhook's URL and
// secret come with the lease, so a rotation or a disable applies to the
// very next attempt.
//
// The dispatcher sleeps until Wake, a store wakeup (another process), a lane
// with room again, or the next due time; a slow poll is only a safety net.
package delivery
