package postgres

import (
	"context"
	"io/fs"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/hookd/hookd/internal/store"
)

// migrateSchemaTo brings opt's schema to migration version (and no
// further), as an earlier release left it, and returns a connection to it.
func migrateSchemaTo(t *testing.T, opt Options, version int64) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(opt.URL)
	if err != nil {
		t.Fatal(err)
	}
	if err := createSchema(ctx, cfg.ConnConfig, opt.Schema); err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = opt.Schema
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, version); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// TestUpgradeFromThePreviousRelease writes rows the way the previous
// release's schema (migrations 1 and 2: lease_until, six delivery indexes,
// an attempt row for every attempt) held them, with a leased delivery, a
// retried one and a succeeded one, then opens the schema with this release:
// the migration converts it in place and the store reads and works on it.
func TestUpgradeFromThePreviousRelease(t *testing.T) {
	opt := TestSchema(t)
	conn := migrateSchemaTo(t, opt, 2)
	ctx := context.Background()
	team, hook := uuid.New(), uuid.New()
	event, task := uuid.Must(uuid.NewV7()), uuid.New()
	leased, retried, done := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	now := time.Now().UTC().Truncate(time.Microsecond)
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO teams VALUES ($1, 'Acme', $2)`, team, now)
	b.Queue(`INSERT INTO webhooks VALUES ($1, $2, 'orders', 'https://example.com/h', '\x00ff', '{task.completed}', 'active', $3, NULL)`, hook, team, now)
	b.Queue(`INSERT INTO events VALUES ($1, $2, $3, 'task.completed', 'completed', '{"a":1}', 3, $4)`, event, team, task, now)
	b.Queue(`INSERT INTO deliveries (id, event_id, webhook_id, team_id, event_type, status, attempt_count,
			next_attempt_at, lease_owner, lease_until, created_at)
		VALUES ($1, $2, $3, $4, 'task.completed', 'pending', 0, $5, 'crashed-host-1-abcd', $6, $5)`,
		leased, event, hook, team, now, now.Add(40*time.Second))
	b.Queue(`INSERT INTO deliveries (id, event_id, webhook_id, team_id, event_type, status, attempt_count,
			next_attempt_at, last_status_code, last_error, created_at)
		VALUES ($1, $2, $3, $4, 'task.completed', 'pending', 1, $5, 503, 'HTTP 503', $6)`,
		retried, event, hook, team, now.Add(5*time.Second), now)
	b.Queue(`INSERT INTO deliveries (id, event_id, webhook_id, team_id, event_type, status, attempt_count,
			last_status_code, created_at, completed_at)
		VALUES ($1, $2, $3, $4, 'task.completed', 'succeeded', 1, 200, $5, $5)`, done, event, hook, team, now)
	b.Queue(`INSERT INTO attempts (delivery_id, attempt_number, started_at, duration_ms, status_code, error, response_body)
		VALUES ($1, 1, $2, 12, 503, 'HTTP 503', 'busy')`, retried, now)
	b.Queue(`INSERT INTO attempts (delivery_id, attempt_number, started_at, duration_ms, status_code, error, response_body)
		VALUES ($1, 1, $2, 7, 200, NULL, 'ok')`, done, now)
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		t.Fatal(err)
	}

	s := OpenTest(t, opt)
	list, total, err := s.ListDeliveries(ctx, team, hook, store.DeliveryFilter{}, store.Page{Number: 1, Size: 10})
	if err != nil || total != 3 || len(list) != 3 {
		t.Fatalf("deliveries = %d of %d, %v", len(list), total, err)
	}
	d, err := s.GetDelivery(ctx, team, hook, done)
	if err != nil || d.Status != store.StatusSucceeded || len(d.Attempts) != 1 || d.Attempts[0].ResponseBody != "ok" {
		t.Fatalf("succeeded delivery = %+v, %v", d, err)
	}
	r, err := s.GetDelivery(ctx, team, hook, retried)
	if err != nil || r.NextAttemptAt == nil || !r.NextAttemptAt.Equal(now.Add(5*time.Second)) || len(r.Attempts) != 1 {
		t.Fatalf("retried delivery = %+v, %v", r, err)
	}
	// The previous release's lease is void (its owner names are of another
	// form); the retry keeps its due time.
	res, err := s.Lease(ctx, store.LeaseRequest{Owner: "1", Now: now.Add(time.Second), Until: now.Add(time.Minute), Limit: 10})
	if err != nil || len(res.Deliveries) != 1 || res.Deliveries[0].DeliveryID != leased {
		t.Fatalf("lease after upgrade = %+v, %v; want the formerly leased row", res.Deliveries, err)
	}
	if res.NextDue == nil || !res.NextDue.Equal(now.Add(5*time.Second)) {
		t.Fatalf("NextDue = %v, want the retry at %v", res.NextDue, now.Add(5*time.Second))
	}
	reg, err := s.Register(ctx)
	if err != nil {
		t.Fatalf("Register after upgrade: %v", err)
	}
	defer reg.Close()
	evID, err := store.NewID(now)
	if err != nil {
		t.Fatal(err)
	}
	ev := store.NewEvent{ID: evID, TeamID: team, TaskID: uuid.New(), EventType: "task.completed",
		TaskStatus: "completed", Body: []byte("{}"), CreatedAt: now}
	if rs, err := s.IngestEvents(ctx, []store.NewEvent{ev}, store.IngestOptions{}); err != nil || rs[0].DeliveryCount != 1 {
		t.Fatalf("ingest after upgrade = %+v, %v", rs, err)
	}
}
