package postgres

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd/internal/store"
)

// ingestItem is one event of one IngestEvents call, carrying that call's
// lease request. A group-commit round merges the items of every call.
type ingestItem struct {
	ev    store.NewEvent
	lease *store.LeaseRequest
	// admitted remembers Admit's answer per webhook: Admit reserves a lane
	// slot, so a round that is run again must not ask twice.
	admitted map[uuid.UUID]bool
}

func (it *ingestItem) admit(webhookID uuid.UUID) bool {
	if it.lease.Admit == nil {
		return true
	}
	if ok, asked := it.admitted[webhookID]; asked {
		return ok
	}
	ok := it.lease.Admit(webhookID)
	if it.admitted == nil {
		it.admitted = map[uuid.UUID]bool{}
	}
	it.admitted[webhookID] = ok
	return ok
}

// target is an active webhook an event may be delivered to.
type target struct {
	id, teamID uuid.UUID
	url        string
	secretEnc  []byte
	events     []string
}

// storedEvent is what idempotency compares a repeated task against.
type storedEvent struct {
	id, teamID uuid.UUID
	status     string
	count      int
}

// resolveRepeat answers an event whose task was seen before.
func resolveRepeat(prev storedEvent, ev store.NewEvent) store.IngestResult {
	if prev.teamID != ev.TeamID || prev.status != ev.TaskStatus {
		return store.IngestResult{Err: store.ErrConflict}
	}
	return store.IngestResult{EventID: prev.id, DeliveryCount: prev.count, Duplicate: true}
}

// ingestTx writes items in tx as if one after another, in three round trips:
// read (active webhooks of the teams, events of the tasks), insert events,
// insert deliveries. The webhooks are read FOR KEY SHARE so a concurrent
// disable or delete waits for this transaction and then cancels what it
// inserted, instead of missing it.
func ingestTx(ctx context.Context, tx pgx.Tx, channel string, items []*ingestItem) ([]store.IngestResult, error) {
	for _, it := range items {
		if it.ev.ID == uuid.Nil {
			return nil, fmt.Errorf("postgres: ingest: event of task %s has no id", it.ev.TaskID)
		}
		if it.ev.CreatedAt.IsZero() {
			it.ev.CreatedAt = time.Now()
		}
		it.ev.CreatedAt = utc(it.ev.CreatedAt.Truncate(time.Microsecond))
	}
	hooks, known, err := readIngestState(ctx, tx, items)
	if err != nil {
		return nil, err
	}

	// Plan in input order; a task repeated inside the batch meets the
	// first occurrence in known.
	results := make([]store.IngestResult, len(items))
	targets := make([][]target, len(items))
	var fresh []int
	for i, it := range items {
		if prev, seen := known[it.ev.TaskID]; seen {
			results[i] = resolveRepeat(prev, it.ev)
			continue
		}
		targets[i] = subscribed(hooks[it.ev.TeamID], it.ev.EventType)
		known[it.ev.TaskID] = storedEvent{id: it.ev.ID, teamID: it.ev.TeamID, status: it.ev.TaskStatus, count: len(targets[i])}
		results[i] = store.IngestResult{EventID: it.ev.ID, DeliveryCount: len(targets[i])}
		fresh = append(fresh, i)
	}
	if len(fresh) == 0 {
		return results, nil
	}

	fresh, err = insertEvents(ctx, tx, items, results, fresh)
	if err != nil {
		return nil, err
	}
	if err := insertDeliveries(ctx, tx, channel, items, targets, results, fresh); err != nil {
		return nil, err
	}
	return results, nil
}

// eventsByTask finds the events already recorded for a round's tasks (the
// ingest's idempotency), through the unique task_id index.
const eventsByTask = `SELECT task_id, id, team_id, task_status, delivery_count FROM events WHERE task_id = ANY($1)`

func readIngestState(ctx context.Context, tx pgx.Tx, items []*ingestItem) (map[uuid.UUID][]target, map[uuid.UUID]storedEvent, error) {
	teamIDs := make([]uuid.UUID, 0, len(items))
	taskIDs := make([]uuid.UUID, 0, len(items))
	for _, it := range items {
		teamIDs = append(teamIDs, it.ev.TeamID)
		taskIDs = append(taskIDs, it.ev.TaskID)
	}
	b := &pgx.Batch{}
	b.Queue(`SELECT id, team_id, url, secret_enc, events FROM webhooks
		WHERE team_id = ANY($1) AND status = 'active' ORDER BY id FOR KEY SHARE`, uniq(teamIDs))
	b.Queue(eventsByTask, uniq(taskIDs))
	br := tx.SendBatch(ctx, b)
	defer br.Close()

	hooks := map[uuid.UUID][]target{}
	var h target
	_, err := pgx.ForEachRow(mustQuery(br), []any{&h.id, &h.teamID, &h.url, &h.secretEnc, &h.events}, func() error {
		hooks[h.teamID] = append(hooks[h.teamID], h)
		return nil
	})
	if err != nil {
		return nil, nil, mapErr("ingest: read webhooks", err)
	}
	known, err := scanStoredEvents(mustQuery(br))
	if err != nil {
		return nil, nil, err
	}
	return hooks, known, nil
}

// insertEvents inserts the fresh events. A task inserted meanwhile by
// another transaction (ON CONFLICT waited for it to commit) turns its items
// into repeats of the stored row; the fresh indexes still to deliver are
// returned.
func insertEvents(ctx context.Context, tx pgx.Tx, items []*ingestItem, results []store.IngestResult, fresh []int) ([]int, error) {
	n := len(fresh)
	ids, teams, tasks := make([]uuid.UUID, 0, n), make([]uuid.UUID, 0, n), make([]uuid.UUID, 0, n)
	types, statuses := make([]string, 0, n), make([]string, 0, n)
	bodies, counts, times := make([][]byte, 0, n), make([]int32, 0, n), make([]time.Time, 0, n)
	for _, i := range fresh {
		ev := items[i].ev
		ids, teams, tasks = append(ids, ev.ID), append(teams, ev.TeamID), append(tasks, ev.TaskID)
		types, statuses = append(types, ev.EventType), append(statuses, ev.TaskStatus)
		bodies, counts, times = append(bodies, ev.Body), append(counts, int32(results[i].DeliveryCount)), append(times, ev.CreatedAt)
	}
	rows, err := tx.Query(ctx, `INSERT INTO events (id, team_id, task_id, event_type, task_status, body, delivery_count, created_at)
		SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::bytea[], $7::int[], $8::timestamptz[])
		ON CONFLICT (task_id) DO NOTHING
		RETURNING task_id`, ids, teams, tasks, types, statuses, bodies, counts, times)
	if err != nil {
		return nil, mapErr("ingest: insert events", err)
	}
	inserted, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, mapErr("ingest: insert events", err)
	}
	if len(inserted) == n {
		return fresh, nil
	}

	lost := map[uuid.UUID]bool{}
	for _, task := range tasks {
		lost[task] = true
	}
	for _, task := range inserted {
		delete(lost, task)
	}
	rows, err = tx.Query(ctx, `SELECT task_id, id, team_id, task_status, delivery_count FROM events WHERE task_id = ANY($1)`,
		mapKeys(lost))
	if err != nil {
		return nil, mapErr("ingest: read events", err)
	}
	stored, err := scanStoredEvents(rows)
	if err != nil {
		return nil, err
	}
	for i, it := range items {
		if lost[it.ev.TaskID] {
			results[i] = resolveRepeat(stored[it.ev.TaskID], it.ev)
		}
	}
	return slices.DeleteFunc(fresh, func(i int) bool { return lost[items[i].ev.TaskID] }), nil
}

// insertDeliveries inserts one pending delivery per target of each fresh
// event, leased at once where the call asked for it and Admit agreed (the
// row's queue position is then the lease expiry), and notifies the other
// processes when unleased work became due.
func insertDeliveries(ctx context.Context, tx pgx.Tx, channel string, items []*ingestItem, targets [][]target, results []store.IngestResult, fresh []int) error {
	var (
		ids, events, hooks, teams []uuid.UUID
		types                     []string
		times, queueAt            []time.Time
		owners                    []*string
		unleased                  bool
		counts                    = store.CountDeltas{}
	)
	for _, i := range fresh {
		it := items[i]
		for _, h := range targets[i] {
			id, err := store.NewID(it.ev.CreatedAt)
			if err != nil {
				return fmt.Errorf("postgres: ingest: delivery id: %w", err)
			}
			leased := it.lease != nil && it.admit(h.id)
			counts.Add(h.id, store.StatusPending, 1)
			ids, events, hooks, teams = append(ids, id), append(events, it.ev.ID), append(hooks, h.id), append(teams, it.ev.TeamID)
			types, times = append(types, it.ev.EventType), append(times, it.ev.CreatedAt)
			if leased {
				owner, until := it.lease.Owner, utc(it.lease.Until.Truncate(time.Microsecond))
				owners, queueAt = append(owners, &owner), append(queueAt, until)
				results[i].Leased = append(results[i].Leased, store.LeasedDelivery{
					DeliveryID: id, EventID: it.ev.ID, WebhookID: h.id, TeamID: it.ev.TeamID,
					EventType: it.ev.EventType, Body: it.ev.Body, URL: h.url, SecretEnc: h.secretEnc,
					Owner: owner, LeaseUntil: until,
				})
			} else {
				owners, queueAt = append(owners, nil), append(queueAt, it.ev.CreatedAt)
				unleased = true
			}
		}
	}
	if len(ids) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO deliveries (id, event_id, webhook_id, team_id, event_type, status, attempt_count,
			next_attempt_at, queue_at, lease_owner, created_at)
		SELECT id, event_id, webhook_id, team_id, event_type, 'pending', 0,
			created_at, queue_at, owner, created_at
		FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::timestamptz[],
			$7::text[], $8::timestamptz[])
			AS t(id, event_id, webhook_id, team_id, event_type, created_at, owner, queue_at)`,
		ids, events, hooks, teams, types, times, owners, queueAt)
	queueCounts(b, counts)
	if unleased {
		queueNotify(b, channel)
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return mapErr("ingest: insert deliveries", err)
	}
	return nil
}

// subscribed returns the hooks whose event set contains eventType.
func subscribed(hooks []target, eventType string) []target {
	var out []target
	for _, h := range hooks {
		if slices.Contains(h.events, eventType) {
			out = append(out, h)
		}
	}
	return out
}

func scanStoredEvents(rows pgx.Rows) (map[uuid.UUID]storedEvent, error) {
	known := map[uuid.UUID]storedEvent{}
	var task uuid.UUID
	var e storedEvent
	_, err := pgx.ForEachRow(rows, []any{&task, &e.id, &e.teamID, &e.status, &e.count}, func() error {
		known[task] = e
		return nil
	})
	if err != nil {
		return nil, mapErr("ingest: read events", err)
	}
	return known, nil
}

// mustQuery takes the next result of a batch as rows; an error surfaces
// from the rows' Err like any query error.
func mustQuery(br pgx.BatchResults) pgx.Rows {
	rows, _ := br.Query()
	return rows
}

func uniq(ids []uuid.UUID) []uuid.UUID {
	out := slices.Clone(ids)
	slices.SortFunc(out, compareUUID)
	return slices.Compact(out)
}

func mapKeys(m map[uuid.UUID]bool) []uuid.UUID {
	out := make([]uuid.UUID, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// queueNotify wakes every process listening on channel once tx commits
// (PostgreSQL delivers notifications at commit and folds duplicates).
func queueNotify(b *pgx.Batch, channel string) {
	b.Queue(`SELECT pg_notify($1, '')`, channel)
}
