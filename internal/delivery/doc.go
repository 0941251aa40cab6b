// Package delivery turns pending deliveries in the store into signed HTTP
// POSTs with SPEC §5's retry policy.
//
// The data path inside one process:
//
//	dispatcher ──Lease──▶ lanes ──goroutine per attempt──▶ sender ──▶ outcome writer ──RecordOutcomes──▶ store
//	ingest ──IngestLease/Dispatch──▶ lanes (deliveries leased inside the ingest transaction)
//
// Lanes are counters, not queues: each webhook may have PerWebhook attempts
// in flight and the process Workers in all. A delivery is leased only when a
// slot is reserved for it (LeaseRequest.Admit), so nothing ever waits in
// memory holding a lease it might outlive; what does not fit stays in the
// store. A hung endpoint therefore costs at most PerWebhook goroutines for
// Timeout and never delays another webhook.
//
// Leases last Timeout plus a margin and are never renewed: an attempt always
// ends (or its process dies) before its lease does. The outcome writer
// batches finished attempts into one RecordOutcomes call, which also ends the
// lease; if the process dies first the lease expires and the attempt is made
// again (at-least-once). With a store that implements store.OutcomeLeaser
// (SQLite), the dispatcher itself takes the waiting outcomes into its next
// lease round instead, so a finished attempt's outcome and the lease that
// refills its slot share one transaction and one commit. The webhook's URL and secret come with the lease, so
// a rotation or a disable applies to the very next attempt.
//
// The dispatcher sleeps until Wake, a store wakeup (another process), a freed
// slot when work was left behind, or the next due time; a slow poll is only a
// safety net.
package delivery
