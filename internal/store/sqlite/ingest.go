package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/hookd/hookd/internal/store"
)

// target is an active webhook an event may fan out to.
type target struct {
	id        uuid.UUID
	url       string
	secretEnc []byte
	events    string
}

// IngestEvents writes the whole slice as one job of the writer, so it shares
// its commit with whatever else is waiting.
func (s *Store) IngestEvents(ctx context.Context, events []store.NewEvent, opt store.IngestOptions) ([]store.IngestResult, error) {
	if len(events) == 0 {
		return []store.IngestResult{}, nil
	}
	var results []store.IngestResult
	err := s.write(ctx, func(w *wtx) error {
		in := ingester{w: w, lease: opt.Lease, now: time.Now(), targets: s.targets, counts: store.CountDeltas{}}
		results = make([]store.IngestResult, len(events))
		for i, ev := range events {
			r, err := in.one(ev)
			if err != nil {
				return err
			}
			results[i] = r
		}
		return applyCounts(w, in.counts)
	})
	if err != nil {
		return nil, err
	}
	store.ObserveIngest(s.obs, events, results)
	return results, nil
}

// ingester holds what one ingest job reuses across its events.
type ingester struct {
	w       *wtx
	lease   *store.LeaseRequest
	now     time.Time
	targets *targetCache
	counts  store.CountDeltas
}

// one writes an event and its deliveries, or answers a repeat of its task.
func (in *ingester) one(ev store.NewEvent) (store.IngestResult, error) {
	hooks, err := in.teamTargets(ev.TeamID)
	if err != nil {
		return store.IngestResult{}, err
	}
	var fanout []target
	for _, t := range hooks {
		if subscribed(t.events, ev.EventType) {
			fanout = append(fanout, t)
		}
	}
	created := orNow(ev.CreatedAt)
	n, err := affected(in.w.exec(`INSERT INTO events (id, team_id, task_id, event_type, task_status, body, delivery_count, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		blob(ev.ID), blob(ev.TeamID), blob(ev.TaskID), ev.EventType, ev.TaskStatus, nonNilBytes(ev.Body),
		len(fanout), ts(created)))
	if err != nil {
		return store.IngestResult{}, err
	}
	if n == 0 {
		return in.repeat(ev)
	}
	res := store.IngestResult{EventID: ev.ID, DeliveryCount: len(fanout)}
	// Due at the emission time, but never in the future: a skewed clock in
	// the task runtime must not hold a delivery back.
	due := created
	if due.After(in.now) {
		due = in.now
	}
	for _, t := range fanout {
		l, err := in.delivery(ev, t, created, due)
		if err != nil {
			return store.IngestResult{}, err
		}
		if l != nil {
			res.Leased = append(res.Leased, *l)
		}
	}
	return res, nil
}

// repeat answers an event whose insert hit a uniqueness rule: the same task
// with the same team and status is a duplicate, anything else a conflict.
func (in *ingester) repeat(ev store.NewEvent) (store.IngestResult, error) {
	var (
		id, team uuid.UUID
		status   string
		count    int
	)
	err := in.w.queryRow(`SELECT id, team_id, task_status, delivery_count FROM events WHERE task_id = ?`, blob(ev.TaskID)).
		Scan(&id, &team, &status, &count)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		// Not the task: the event id itself is taken.
		return store.IngestResult{Err: fmt.Errorf("%w: event id %s exists", store.ErrConflict, ev.ID)}, nil
	case err != nil:
		return store.IngestResult{}, err
	case team != ev.TeamID || status != ev.TaskStatus:
		return store.IngestResult{Err: fmt.Errorf("%w: task %s was seen as %s", store.ErrConflict, ev.TaskID, status)}, nil
	}
	return store.IngestResult{EventID: id, DeliveryCount: count, Duplicate: true}, nil
}

// delivery inserts one pending delivery, leased to the caller when it asked
// and Admit accepts (queue_at is then the lease expiry); the lease is
// returned ready for a sender. It is created with its event: its id carries
// the event's creation time.
func (in *ingester) delivery(ev store.NewEvent, t target, created, due time.Time) (*store.LeasedDelivery, error) {
	id, err := store.NewID(created)
	if err != nil {
		return nil, err
	}
	leased := in.lease != nil && (in.lease.Admit == nil || in.lease.Admit(t.id))
	var owner any
	queueAt := ts(due)
	if leased {
		owner, queueAt = in.lease.Owner, ts(in.lease.Until)
	}
	if _, err := in.w.exec(`INSERT INTO deliveries (id, event_id, webhook_id, team_id, event_type, task_id, status,
		attempt_count, next_attempt_at, queue_at, lease_owner, created_at)
		VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?)`,
		blob(id), blob(ev.ID), blob(t.id), blob(ev.TeamID), ev.EventType, blob(ev.TaskID),
		ts(due), queueAt, owner, ts(created)); err != nil {
		return nil, err
	}
	in.counts.Add(t.id, store.StatusPending, 1)
	if !leased {
		return nil, nil
	}
	return &store.LeasedDelivery{
		DeliveryID: id,
		EventID:    ev.ID,
		WebhookID:  t.id,
		TeamID:     ev.TeamID,
		EventType:  ev.EventType,
		Body:       ev.Body,
		URL:        t.url,
		SecretEnc:  t.secretEnc,
		Owner:      in.lease.Owner,
		LeaseUntil: fromTS(queueAt),
	}, nil
}

func (in *ingester) teamTargets(team uuid.UUID) ([]target, error) {
	if cached, ok := in.targets.get(team, in.now); ok {
		return cached, nil
	}
	rows, err := in.w.query(`SELECT id, url, secret_enc, events FROM webhooks
		WHERE team_id = ? AND status = 'active' ORDER BY created_at, id`, blob(team))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []target
	for rows.Next() {
		var t target
		if err := rows.Scan(&t.id, &t.url, &t.secretEnc, &t.events); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	in.targets.put(team, out, in.now)
	return out, nil
}

// targetCache keeps each team's active webhooks between ingest jobs: a
// single-event ingest would otherwise read them once per call (a tenth of
// its store time). It is the writer goroutine's alone. Every webhook write
// of this store runs in the writer and clears it, and so does a round that
// fails (a job may have cached what the rollback undid); entries also expire
// after targetTTL, for writes by another process on the file.
type targetCache struct {
	teams map[uuid.UUID]cachedTargets
}

type cachedTargets struct {
	targets []target
	at      time.Time
}

const (
	targetTTL      = time.Second
	maxCachedTeams = 4096
)

func (c *targetCache) get(team uuid.UUID, now time.Time) ([]target, bool) {
	e, ok := c.teams[team]
	if !ok || now.Sub(e.at) > targetTTL || now.Before(e.at) {
		return nil, false
	}
	return e.targets, true
}

func (c *targetCache) put(team uuid.UUID, ts []target, now time.Time) {
	if c.teams == nil || len(c.teams) >= maxCachedTeams {
		c.teams = make(map[uuid.UUID]cachedTargets)
	}
	c.teams[team] = cachedTargets{targets: ts, at: now}
}

func (c *targetCache) clear() { c.teams = nil }
