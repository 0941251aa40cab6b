// Package ingest is the entry of the data path: a task event from the task
// runtime becomes an event row plus one pending delivery per subscribed
// active webhook, written in one durable (group-committed) transaction.
// Only after that commit does the caller get its answer; then the delivery
// engine is handed the deliveries the transaction already leased to it (no
// second lease round trip) or is woken to lease them.
//
// Service.Ingest is the Go API for embedding; the HTTP handlers in
// internal/api are a thin layer over Parse and Ingest.
package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/hookd/hookd/internal/payload"
	"github.com/hookd/hookd/internal/store"
)

// MaxBatch is the largest batch SPEC §4 accepts.
const MaxBatch = 1000

// TaskEvent is one terminal task state reported by the task runtime.
type TaskEvent struct {
	TeamID     uuid.UUID
	TaskID     uuid.UUID
	TaskStatus string          // completed | failed
	TaskOutput json.RawMessage // an object for completed; nil for failed
	TaskError  string          // empty for completed; the reason for failed
	Timestamp  time.Time       // emission time; zero means now
}

// Result answers one TaskEvent.
type Result struct {
	EventID       uuid.UUID
	DeliveryCount int
	Duplicate     bool  // seen before with the same status: the original answer
	Err           error // *jsonobj.Error (400) or ErrConflict (409)
}

// ErrConflict: the task was recorded before with the other status or under
// another team.
var ErrConflict = errors.New("task_id: already recorded with another task_status or under another team")

// Engine is the delivery engine as ingest sees it. IngestLease returns the
// lease the ingest transaction may take on the deliveries it creates (nil:
// insert them unleased); after the store call, exactly one of Dispatch (it
// committed: hand over what it leased) or Abandon (it failed: give back the
// places reserved) is called with that same request.
type Engine interface {
	IngestLease() *store.LeaseRequest
	Dispatch(req *store.LeaseRequest, leased []store.LeasedDelivery)
	Abandon(req *store.LeaseRequest)
	Wake()
}

// Service ingests task events.
type Service struct {
	Store  store.Store
	Engine Engine // nil: deliveries wait for whichever process leases them
	Now    func() time.Time
}

// Ingest validates, renders and durably records events. Results are in input
// order; an invalid event does not stop the others. The error is for the
// store failing as a whole (nothing of this call is then known to be written).
func (s *Service) Ingest(ctx context.Context, events []TaskEvent) ([]Result, error) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	at := now().UTC().Truncate(time.Microsecond)
	results := make([]Result, len(events))
	rows := make([]store.NewEvent, 0, len(events))
	index := make([]int, 0, len(events))
	for i, ev := range events {
		row, err := prepare(ev, at)
		if err != nil {
			results[i].Err = err
			continue
		}
		rows = append(rows, row)
		index = append(index, i)
	}
	if len(rows) == 0 {
		return results, nil
	}
	var opt store.IngestOptions
	if s.Engine != nil {
		opt.Lease = s.Engine.IngestLease()
	}
	written, err := s.Store.IngestEvents(ctx, rows, opt)
	if err != nil {
		if opt.Lease != nil {
			s.Engine.Abandon(opt.Lease)
		}
		return nil, err
	}
	var leased []store.LeasedDelivery
	fresh := false
	for j, w := range written {
		i := index[j]
		if w.Err != nil {
			if errors.Is(w.Err, store.ErrConflict) {
				results[i].Err = ErrConflict
			} else {
				results[i].Err = w.Err
			}
			continue
		}
		results[i] = Result{EventID: w.EventID, DeliveryCount: w.DeliveryCount, Duplicate: w.Duplicate}
		leased = append(leased, w.Leased...)
		if !w.Duplicate && w.DeliveryCount > len(w.Leased) {
			fresh = true
		}
	}
	if s.Engine != nil {
		if opt.Lease != nil {
			// Rows left unleased were refused by the lanes (full): the lanes
			// wake the dispatcher once they have room, so no lease round is
			// run now only to walk past work nobody can take.
			s.Engine.Dispatch(opt.Lease, leased)
		} else if fresh {
			s.Engine.Wake()
		}
	}
	return results, nil
}

// prepare validates one event and renders the body every attempt sends.
func prepare(ev TaskEvent, at time.Time) (store.NewEvent, error) {
	if err := Validate(ev); err != nil {
		return store.NewEvent{}, err
	}
	id, err := store.NewID(at)
	if err != nil {
		return store.NewEvent{}, err
	}
	ts := ev.Timestamp
	if ts.IsZero() {
		ts = at
	}
	body, err := payload.Render("task."+ev.TaskStatus, ev.TaskID, ev.TaskStatus, ev.TaskOutput, ev.TaskError, ts)
	if err != nil {
		return store.NewEvent{}, err
	}
	return store.NewEvent{
		ID: id, TeamID: ev.TeamID, TaskID: ev.TaskID, EventType: "task." + ev.TaskStatus,
		TaskStatus: ev.TaskStatus, Body: body, CreatedAt: at,
	}, nil
}
