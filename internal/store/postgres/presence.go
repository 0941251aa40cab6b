package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd/internal/store"
)

// Liveness on PostgreSQL. Every process that runs deliveries takes an owner
// id from a sequence and holds the session advisory lock (schema key, owner
// id) on a connection of its own. PostgreSQL drops a session's locks when the
// session ends, however it ends (the process was killed, its connection was
// terminated or cut), so "no session holds the lock of owner X" means X's
// attempts are over or abandoned, and its leases can be voided at once
// instead of waiting for them to expire.
//
// The timing that keeps two live processes from sending one delivery at once:
//   - the holder checks its lock session every pingEvery (each check bounded
//     by pingTimeout); when the session is gone it tries to take the lock
//     back on a new one (a short blip costs nothing), and gives the identity
//     up (Registration.Lost) once it has not been sure of holding the lock
//     for fenceAfter. Counting from the last moment it was sure, it stops at
//     the latest after fenceAfter + pingEvery + pingTimeout;
//   - a reaper voids an owner's leases only after seeing its lock missing
//     for reapGrace, which is longer than that, re-checking the lock in the
//     voiding statement itself. The lock went missing after the holder was
//     last sure of it, so by then the holder has stopped, whatever the order
//     in which the two noticed.
//
// A dead process's deliveries are taken over after about reapGrace plus a
// reap interval (the engine calls ReapDeadOwners every half second).
const (
	pingEvery   = 250 * time.Millisecond
	pingTimeout = 500 * time.Millisecond
	fenceAfter  = time.Second
	reapGrace   = 2 * time.Second
)

// The safety margin above, checked at compile time: reapGrace must exceed
// the holder's worst stopping time.
const _ = uint64(reapGrace - (fenceAfter + pingEvery + pingTimeout) - 1)

// lockClass is the first key of this schema's owner locks: schemas of one
// database have their own owner sequences, so their ids may coincide.
func lockClass(schema string) int32 {
	h := fnv.New32a()
	h.Write([]byte("hookd owners " + schema))
	return int32(h.Sum32() & 0x7fffffff)
}

// owners is what this Store knows about liveness: when each owner was first
// seen dead, and its own identities given up (dead for sure: no grace).
type owners struct {
	mu        sync.Mutex
	deadSince map[string]time.Time
	former    map[string]bool
}

// registration is one owner identity of this process and the goroutine that
// holds its lock.
type registration struct {
	s     *Store
	id    int64
	owner string
	lost  chan struct{}
	stop  chan struct{}
	done  chan struct{}
}

func (r *registration) Owner() string         { return r.owner }
func (r *registration) Lost() <-chan struct{} { return r.lost }

// Close unlocks and gives the identity up; its remaining leases become
// voidable by any process.
func (r *registration) Close() error {
	select {
	case <-r.stop:
	default:
		close(r.stop)
	}
	<-r.done
	return nil
}

// Register takes a new owner id and its lock.
func (s *Store) Register(ctx context.Context) (store.Registration, error) {
	var id int64
	if err := s.pool.QueryRow(ctx, `SELECT nextval('owner_ids')`).Scan(&id); err != nil {
		return nil, mapErr("register owner", err)
	}
	conn, err := s.lockConn(ctx, id, false)
	if err != nil {
		return nil, err
	}
	r := &registration{s: s, id: id, owner: strconv.FormatInt(id, 10),
		lost: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	go r.hold(conn)
	return r, nil
}

// lockConn connects and takes the owner lock: waiting for it when the id is
// fresh (nobody else can hold it), trying once when taking it back.
func (s *Store) lockConn(ctx context.Context, id int64, try bool) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, s.connConfig.Copy())
	if err != nil {
		return nil, mapErr("owner lock: connect", err)
	}
	ok := true
	if try {
		err = conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, $2)`, s.lockClass, int32(id)).Scan(&ok)
	} else {
		_, err = conn.Exec(ctx, `SELECT pg_advisory_lock($1, $2)`, s.lockClass, int32(id))
	}
	if err != nil || !ok {
		_ = conn.Close(context.WithoutCancel(ctx))
		if err == nil {
			err = errors.New("held by another session")
		}
		return nil, fmt.Errorf("postgres: owner lock: %w", err)
	}
	return conn, nil
}

// hold keeps the lock: a ping every pingEvery proves the session (hence the
// lock) is alive; a dead session is replaced and the lock taken back; after
// fenceAfter without proof the identity is lost for good.
func (r *registration) hold(conn *pgx.Conn) {
	defer close(r.done)
	sure := time.Now() // the last moment the lock was known to be held
	ticker := time.NewTicker(pingEvery)
	defer ticker.Stop()
	closeConn := func() {
		if conn != nil {
			ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
			_ = conn.Close(ctx)
			cancel()
			conn = nil
		}
	}
	defer closeConn()
	for {
		select {
		case <-r.stop:
			if conn != nil {
				ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
				_, _ = conn.Exec(ctx, `SELECT pg_advisory_unlock($1, $2)`, r.s.lockClass, int32(r.id))
				cancel()
			}
			r.s.owners.forget(r.owner)
			return
		case <-ticker.C:
		}
		checkStart := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
		if conn != nil {
			if _, err := conn.Exec(ctx, `SELECT 1`); err != nil {
				closeConn()
			}
		}
		if conn == nil {
			if c, err := r.s.lockConn(ctx, r.id, true); err == nil {
				conn = c
			}
		}
		cancel()
		if conn != nil {
			sure = checkStart
			continue
		}
		if time.Since(sure) >= fenceAfter {
			r.s.owners.markFormer(r.owner)
			close(r.lost)
			<-r.stop // the engine closes a lost registration
			return
		}
	}
}

func (o *owners) markFormer(owner string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.former == nil {
		o.former = map[string]bool{}
	}
	o.former[owner] = true
}

func (o *owners) forget(owner string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.deadSince, owner)
}

// ReapDeadOwners voids the leases of owners whose lock has been missing for
// reapGrace (or that were this process's own lost identities). Two cheap
// queries per call when nobody died: the distinct owners of live leases (the
// part of the queue index after now) and the schema's owner locks.
func (s *Store) ReapDeadOwners(ctx context.Context, now time.Time) (int, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT d.lease_owner FROM deliveries d
		WHERE d.status = 'pending' AND d.queue_at > $1 AND d.lease_owner IS NOT NULL
			AND NOT EXISTS (`+ownerLockHeld+`)`, now, s.lockClass)
	if err != nil {
		return 0, mapErr("reap: read owners", err)
	}
	unlocked, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, mapErr("reap: read owners", err)
	}
	reap := s.owners.due(unlocked, time.Now())
	if len(reap) == 0 {
		return 0, nil
	}
	var n int64
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE deliveries d SET queue_at = d.next_attempt_at, lease_owner = NULL
			WHERE d.status = 'pending' AND d.queue_at > $1 AND d.lease_owner = ANY($3)
				AND NOT EXISTS (`+ownerLockHeld+`)`, now, s.lockClass, reap)
		if err != nil {
			return err
		}
		if n = tag.RowsAffected(); n > 0 {
			return notify(ctx, tx, s.channel)
		}
		return nil
	})
	return int(n), mapErr("reap: void leases", err)
}

// ownerLockHeld is true when a session holds the lock of d.lease_owner ($2
// is this schema's lock class).
const ownerLockHeld = `SELECT 1 FROM pg_locks l
	WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
		AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND l.classid = $2::int::oid AND l.objid::text = d.lease_owner`

// due records when each unlocked owner was first seen so, forgets the others,
// and returns those unlocked for reapGrace already, or given up by this
// process itself.
func (o *owners) due(unlocked []string, now time.Time) []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.deadSince == nil {
		o.deadSince = map[string]time.Time{}
	}
	seen := make(map[string]bool, len(unlocked))
	var reap []string
	for _, owner := range unlocked {
		seen[owner] = true
		first, ok := o.deadSince[owner]
		if !ok {
			first = now
			o.deadSince[owner] = now
		}
		if o.former[owner] || now.Sub(first) >= reapGrace {
			reap = append(reap, owner)
		}
	}
	for owner := range o.deadSince {
		if !seen[owner] {
			delete(o.deadSince, owner)
		}
	}
	return reap
}
