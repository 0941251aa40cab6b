// Package postgres is hookd's scale-out store: store.Store on PostgreSQL,
// shared by any number of hookd processes.
//
// The design in a few lines:
//
//   - The deliveries table is the queue. Lease takes due rows with
//     FOR UPDATE SKIP LOCKED, so two processes never lease the same row, and
//     reads the webhook's current URL and secret in the same transaction.
//     A lease is a visibility timeout (queue_at moves to the lease expiry),
//     so the walk never meets a row in flight.
//   - Liveness (presence.go): each serving process registers an owner id
//     and holds a session advisory lock for it on a connection of its own;
//     every process voids the leases of owners whose lock is gone (after a
//     grace period that outlasts the holder's own fencing), so a dead
//     process's deliveries are taken over within seconds. An expired lease
//     is only the last resort.
//     A lease round is two round trips: begin + the first page of a cursor
//     over the due-order index, then update + commit (lease.go). The lease
//     transaction turns sorts and sequential scans off so that statistics
//     older than a burst of ingests cannot make it sort the whole backlog.
//   - uuid.UUID crosses the wire as 16 bytes (uuidcodec.go), not through
//     pgx's database/sql fallback, which formatted and parsed every id.
//   - Durable writes (IngestEvents, RecordOutcomes) go through one writer
//     goroutine per Store that group-commits: it collects every call waiting
//     and writes them in one transaction, so concurrent callers share one
//     flush. The calls of a round are first merged into set-based statements;
//     if that fails, each call is replayed in its own SAVEPOINT so only the
//     faulty call fails (groupcommit.go).
//   - Every transaction that makes work due sends pg_notify on a channel
//     named after the schema; each Store listens on a dedicated connection
//     and turns notifications into Wakeups() (wakeups.go).
//   - Migrations are embedded goose files, applied under a session advisory
//     lock so processes starting together migrate once.
package postgres
