package ingest_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hookd/hookd/internal/ingest"
	"github.com/hookd/hookd/internal/jsonobj"
	"github.com/hookd/hookd/internal/store"
	"github.com/hookd/hookd/internal/store/sqlite"
)

func TestParseAndValidate(t *testing.T) {
	team, task := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	base := `"team_id":"` + team.String() + `","task_id":"` + task.String() + `"`
	cases := []struct {
		body  string
		field string // "" means valid
	}{
		{`{` + base + `,"task_status":"completed","task_output":{"a":1}}`, ""},
		{`{` + base + `,"task_status":"completed","task_output":{},"task_error":"","timestamp":"2026-02-16T09:00:00+01:00"}`, ""},
		{`{` + base + `,"task_status":"failed","task_error":"lost agent"}`, ""},
		{`{` + base + `,"task_status":"failed","task_error":"x","task_output":null}`, ""},
		{`{` + base + `,"task_status":"completed"}`, "task_output"},
		{`{` + base + `,"task_status":"completed","task_output":"text"}`, "task_output"},
		{`{` + base + `,"task_status":"completed","task_output":null}`, "task_output"},
		{`{` + base + `,"task_status":"completed","task_output":{},"task_error":"boom"}`, "task_error"},
		{`{` + base + `,"task_status":"failed"}`, "task_error"},
		{`{` + base + `,"task_status":"failed","task_error":"x","task_output":{}}`, "task_output"},
		{`{` + base + `,"task_status":"canceled","task_error":"x"}`, "task_status"},
		{`{` + base + `}`, "task_status"},
		{`{"task_id":"` + task.String() + `","task_status":"failed","task_error":"x"}`, "team_id"},
		{`{"team_id":"` + uuid.Nil.String() + `","task_id":"` + task.String() + `","task_status":"failed","task_error":"x"}`, "team_id"},
		{`{"team_id":"` + strings.ReplaceAll(team.String(), "-", "") + `","task_id":"` + task.String() + `","task_status":"failed","task_error":"x"}`, "team_id"},
		{`{` + base + `,"task_status":"failed","task_error":"x","timestamp":"16/02/2026"}`, "timestamp"},
		{`{` + base + `,"task_status":"failed","task_error":"x","timestamp":1700000000}`, "timestamp"},
		{`{` + base + `,"task_status":"failed","task_error":"x","extra":true}`, "extra"},
		{`[1]`, ""},
	}
	for _, c := range cases {
		ev, err := ingest.Parse([]byte(c.body))
		var fe *jsonobj.Error
		switch {
		case c.body == `[1]`:
			if !errors.As(err, &fe) || fe.Field != "" {
				t.Errorf("%s: want a body-level error, got %v", c.body, err)
			}
		case c.field == "":
			if err != nil {
				t.Errorf("%s: %v", c.body, err)
			} else if ev.TeamID != team || ev.TaskID != task {
				t.Errorf("%s: ids not parsed: %+v", c.body, ev)
			}
		case !errors.As(err, &fe) || fe.Field != c.field:
			t.Errorf("%s: want an error naming %s, got %v", c.body, c.field, err)
		}
	}
}

// recordingEngine is the delivery engine's side of the contract, observed.
type recordingEngine struct {
	mu         sync.Mutex
	admitted   int
	dispatched []store.LeasedDelivery
	settled    int // Dispatch and Abandon calls: exactly one per IngestLease
	abandoned  int
	leases     int
	wakes      int
	admit      bool
	noLease    bool // IngestLease returns nil (the engine is not running)
}

func (e *recordingEngine) IngestLease() *store.LeaseRequest {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.noLease {
		return nil
	}
	e.leases++
	return &store.LeaseRequest{Owner: "test", Until: time.Now().Add(time.Minute), Admit: func(uuid.UUID) bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.admit {
			e.admitted++
		}
		return e.admit
	}}
}

func (e *recordingEngine) Dispatch(_ *store.LeaseRequest, l []store.LeasedDelivery) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.settled++
	e.dispatched = append(e.dispatched, l...)
}

func (e *recordingEngine) Abandon(*store.LeaseRequest) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.settled++
	e.abandoned++
}

func (e *recordingEngine) Wake() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.wakes++
}

func TestServiceIngest(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(t.TempDir(), "hookd.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	team := uuid.Must(uuid.NewV7())
	if err := st.CreateTeam(ctx, store.Team{ID: team, DisplayName: "t", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	hook := uuid.Must(uuid.NewV7())
	if err := st.CreateWebhook(ctx, store.Webhook{ID: hook, TeamID: team, DisplayName: "h", URL: "https://example.com/",
		SecretEnc: []byte("x"), Events: []string{"task.completed"}, Status: store.WebhookActive, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	eng := &recordingEngine{admit: true}
	svc := &ingest.Service{Store: st, Engine: eng}
	task := uuid.Must(uuid.NewV7())
	out := json.RawMessage(`{"storage_key": "a<b>&c", "n": 1.50}`)
	events := []ingest.TaskEvent{
		{TeamID: team, TaskID: task, TaskStatus: "completed", TaskOutput: out, Timestamp: time.Date(2026, 2, 16, 10, 0, 0, 999, time.FixedZone("", 3600))},
		{TeamID: team, TaskID: uuid.Must(uuid.NewV7()), TaskStatus: "failed", TaskError: "x"}, // not subscribed
		{TeamID: team, TaskID: uuid.Must(uuid.NewV7()), TaskStatus: "completed"},              // invalid
		{TeamID: team, TaskID: task, TaskStatus: "failed", TaskError: "y"},                    // conflict
	}
	res, err := svc.Ingest(ctx, events)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err != nil || res[0].DeliveryCount != 1 || res[0].Duplicate {
		t.Fatalf("first: %+v", res[0])
	}
	if res[1].Err != nil || res[1].DeliveryCount != 0 {
		t.Fatalf("unsubscribed: %+v", res[1])
	}
	var fe *jsonobj.Error
	if !errors.As(res[2].Err, &fe) || fe.Field != "task_output" {
		t.Fatalf("invalid: %+v", res[2])
	}
	if !errors.Is(res[3].Err, ingest.ErrConflict) {
		t.Fatalf("conflict: %+v", res[3])
	}
	// The one delivery was leased inside the ingest and handed over directly.
	if len(eng.dispatched) != 1 || eng.admitted != 1 {
		t.Fatalf("dispatched %d, admitted %d", len(eng.dispatched), eng.admitted)
	}
	want := `{"event_type":"task.completed","task_id":"` + task.String() + `","task_status":"completed","task_output":{"storage_key":"a<b>&c","n":1.50},"task_error":"","timestamp":"2026-02-16T09:00:00Z"}`
	if got := string(eng.dispatched[0].Body); got != want {
		t.Fatalf("body\n got %s\nwant %s", got, want)
	}
	if eng.wakes != 0 {
		t.Fatalf("nothing was left unleased, yet the engine was woken %d times", eng.wakes)
	}

	// When the lanes are full nothing is leased at ingest, and the engine is
	// not woken for it: its lanes wake it once they have room.
	eng.admit = false
	res, err = svc.Ingest(ctx, []ingest.TaskEvent{{TeamID: team, TaskID: uuid.Must(uuid.NewV7()), TaskStatus: "completed", TaskOutput: out}})
	if err != nil || res[0].DeliveryCount != 1 {
		t.Fatalf("%v %+v", err, res)
	}
	if eng.wakes != 0 || len(eng.dispatched) != 1 {
		t.Fatalf("wakes %d dispatched %d", eng.wakes, len(eng.dispatched))
	}
	// When the engine cannot lease at all, it is woken to lease the rows.
	eng.noLease = true
	res, err = svc.Ingest(ctx, []ingest.TaskEvent{{TeamID: team, TaskID: uuid.Must(uuid.NewV7()), TaskStatus: "completed", TaskOutput: out}})
	if err != nil || res[0].DeliveryCount != 1 || eng.wakes != 1 {
		t.Fatalf("without a lease: %v %+v, wakes %d", err, res, eng.wakes)
	}
	eng.noLease = false
	// A repeat is answered from the store, with nothing new to wake for.
	res, _ = svc.Ingest(ctx, events[:1])
	if !res[0].Duplicate || res[0].DeliveryCount != 1 || eng.wakes != 1 {
		t.Fatalf("repeat: %+v wakes %d", res[0], eng.wakes)
	}
	if eng.settled != eng.leases || eng.abandoned != 0 {
		t.Fatalf("%d leases, %d settled, %d abandoned; want every lease dispatched once", eng.leases, eng.settled, eng.abandoned)
	}

	// A store that fails hands the lease back (Abandon), never Dispatch.
	st.Close()
	if _, err := svc.Ingest(ctx, []ingest.TaskEvent{{TeamID: team, TaskID: uuid.Must(uuid.NewV7()), TaskStatus: "completed", TaskOutput: out}}); err == nil {
		t.Fatal("ingest into a closed store succeeded")
	}
	if eng.abandoned != 1 || eng.settled != eng.leases {
		t.Fatalf("after a failed ingest: %d abandoned, %d settled of %d leases", eng.abandoned, eng.settled, eng.leases)
	}
}
