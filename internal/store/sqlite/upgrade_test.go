package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/pressly/goose/v3"

	"github.com/hookd/hookd/internal/store"
)

// migrateTo brings a fresh file to migration version (and no further), as
// an earlier release of hookd left it.
func migrateTo(t *testing.T, path string, version int64) *sql.DB {
	t.Helper()
	opt := Options{Path: path, BusyTimeout: time.Second}
	db, err := sql.Open("sqlite", migrateDSN(opt))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, sub)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(context.Background(), version); err != nil {
		t.Fatal(err)
	}
	return db
}

// TestUpgradeFromTheFirstRelease writes a database the way the first
// release's schema (migration 1: TEXT ids, separate lease columns) held it,
// with a leased delivery, a retried one, a succeeded one with its attempt
// row, a member, a key and a webhook, then opens it with this release: the
// migration converts it in place and every row reads back through the store.
func TestUpgradeFromTheFirstRelease(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hookd.db")
	db := migrateTo(t, path, 1)
	team, user, cred, hook := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	event, task := uuid.Must(uuid.NewV7()), uuid.New()
	leased, retried, done := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	now := time.Now().UTC().Truncate(time.Microsecond)
	us := now.UnixMicro()
	hash := []byte("0123456789abcdef0123456789abcdef")
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO teams VALUES (?, 'Acme', ?)`, []any{team.String(), us}},
		{`INSERT INTO members VALUES (?, ?, 'admin', ?)`, []any{team.String(), user.String(), us}},
		{`INSERT INTO credentials VALUES (?, ?, ?, 'device', 'laptop', 'dk-abcdefghi', ?, ?, NULL, NULL, NULL)`,
			[]any{cred.String(), team.String(), user.String(), hash, us}},
		{`INSERT INTO webhooks VALUES (?, ?, 'orders', 'https://example.com/h', x'00ff', 'task.completed,task.failed', 'active', ?, ?)`,
			[]any{hook.String(), team.String(), us, us}},
		{`INSERT INTO events VALUES (?, ?, ?, 'task.completed', 'completed', CAST('{"a":1}' AS BLOB), 3, ?)`,
			[]any{event.String(), team.String(), task.String(), us}},
		{`INSERT INTO deliveries VALUES (?, ?, ?, ?, 'task.completed', ?, 'pending', 0, ?, 'crashed-process', ?, NULL, NULL, ?, NULL)`,
			[]any{leased.String(), event.String(), hook.String(), team.String(), task.String(), us, us + 40_000_000, us}},
		{`INSERT INTO deliveries VALUES (?, ?, ?, ?, 'task.completed', ?, 'pending', 1, ?, NULL, NULL, 503, 'HTTP 503', ?, NULL)`,
			[]any{retried.String(), event.String(), hook.String(), team.String(), task.String(), us + 5_000_000, us}},
		{`INSERT INTO deliveries VALUES (?, ?, ?, ?, 'task.completed', ?, 'succeeded', 1, NULL, NULL, NULL, 200, NULL, ?, ?)`,
			[]any{done.String(), event.String(), hook.String(), team.String(), task.String(), us, us}},
		{`INSERT INTO attempts VALUES (?, 1, ?, 12, 503, 'HTTP 503', 'busy')`, []any{retried.String(), us}},
		{`INSERT INTO attempts VALUES (?, 1, ?, 7, 200, NULL, 'ok')`, []any{done.String(), us}},
	} {
		if _, err := db.Exec(q.sql, q.args...); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	db.Close()

	ctx := context.Background()
	s, err := Open(ctx, Options{Path: path, Exclusive: true})
	if err != nil {
		t.Fatalf("Open (upgrade): %v", err)
	}
	defer s.Close()
	if got, err := s.GetTeam(ctx, team); err != nil || got.DisplayName != "Acme" || !got.CreatedAt.Equal(now) {
		t.Fatalf("team = %+v, %v", got, err)
	}
	if m, err := s.GetMember(ctx, team, user); err != nil || m.Role != "admin" {
		t.Fatalf("member = %+v, %v", m, err)
	}
	if c, err := s.GetCredentialByHash(ctx, hash); err != nil || c.ID != cred || c.UserID != user || c.TeamID != team {
		t.Fatalf("credential = %+v, %v", c, err)
	}
	w, err := s.GetWebhook(ctx, team, hook)
	if err != nil || w.URL != "https://example.com/h" || string(w.SecretEnc) != "\x00\xff" || len(w.Events) != 2 {
		t.Fatalf("webhook = %+v, %v", w, err)
	}
	list, total, err := s.ListDeliveries(ctx, team, hook, store.DeliveryFilter{}, store.Page{Number: 1, Size: 10})
	if err != nil || total != 3 || len(list) != 3 {
		t.Fatalf("deliveries = %d of %d, %v", len(list), total, err)
	}
	byTask, _, err := s.ListDeliveries(ctx, team, hook, store.DeliveryFilter{TaskID: task}, store.Page{Number: 1, Size: 10})
	if err != nil || len(byTask) != 3 {
		t.Fatalf("task filter = %d, %v", len(byTask), err)
	}
	d, err := s.GetDelivery(ctx, team, hook, done)
	if err != nil || d.Status != store.StatusSucceeded || len(d.Attempts) != 1 || d.Attempts[0].ResponseBody != "ok" ||
		string(d.RequestBody) != `{"a":1}` {
		t.Fatalf("succeeded delivery = %+v, %v", d, err)
	}
	// The old release's lease is void: the starting server owns it, and the
	// retry keeps its due time.
	res, err := s.Lease(ctx, store.LeaseRequest{Owner: "new", Now: now.Add(time.Second), Until: now.Add(time.Minute), Limit: 10})
	if err != nil || len(res.Deliveries) != 1 || res.Deliveries[0].DeliveryID != leased {
		t.Fatalf("lease after upgrade = %+v, %v; want the formerly leased row", res.Deliveries, err)
	}
	sameTime(t, "NextDue (the retry)", res.NextDue, now.Add(5*time.Second))
	// The upgraded database takes new work like a fresh one.
	ev := store.NewEvent{ID: mustID(t, now), TeamID: team, TaskID: uuid.New(), EventType: "task.failed",
		TaskStatus: "failed", Body: []byte("{}"), CreatedAt: now}
	if rs, err := s.IngestEvents(ctx, []store.NewEvent{ev}, store.IngestOptions{}); err != nil || rs[0].DeliveryCount != 1 {
		t.Fatalf("ingest after upgrade = %+v, %v", rs, err)
	}
}

func sameTime(t *testing.T, what string, got *time.Time, want time.Time) {
	t.Helper()
	if got == nil || !got.Equal(want) {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

// TestExclusiveOpenRefusesASecondServer: one serving process per file; the
// lock goes with the store (or the process), and non-exclusive opens (the
// administration commands) still work beside it.
func TestExclusiveOpenRefusesASecondServer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hookd.db")
	ctx := context.Background()
	first, err := Open(ctx, Options{Path: path, Exclusive: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, Options{Path: path, Exclusive: true})
	var inUse *InUseError
	if !errors.As(err, &inUse) || inUse.PID == 0 {
		t.Fatalf("second exclusive Open = %v, want *InUseError naming the holder", err)
	}
	admin, err := Open(ctx, Options{Path: path})
	if err != nil {
		t.Fatalf("admin Open beside the server: %v", err)
	}
	if err := admin.CreateTeam(ctx, store.Team{ID: uuid.New(), DisplayName: "x"}); err != nil {
		t.Fatalf("admin write beside the server: %v", err)
	}
	admin.Close()
	if _, err := admin.Register(ctx); err == nil {
		t.Fatal("a non-exclusive store registered a lease owner")
	}
	first.Close()
	again, err := Open(ctx, Options{Path: path, Exclusive: true})
	if err != nil {
		t.Fatalf("exclusive Open after the first closed: %v", err)
	}
	again.Close()
}
