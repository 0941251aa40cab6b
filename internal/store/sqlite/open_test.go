package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/hookd/hookd/internal/store"
)

func openTemp(t testing.TB) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hookd.db")
	s, err := Open(context.Background(), Options{Path: path})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func TestFileIsWALAndWriterIsDurable(t *testing.T) {
	s, path := openTemp(t)
	// journal_mode is a property of the file: a fresh, plain connection sees it.
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var mode string
	if err := raw.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v; want wal", mode, err)
	}
	pragmas := []struct {
		db   *sql.DB
		name string
		want int
	}{
		{s.writer, "synchronous", 2}, // FULL
		{s.writer, "foreign_keys", 1},
		{s.writer, "temp_store", 2}, // MEMORY
		{s.writer, "busy_timeout", 5000},
		{s.reader, "query_only", 1},
		{s.reader, "busy_timeout", 5000},
	}
	for _, p := range pragmas {
		var got int
		if err := p.db.QueryRow("PRAGMA " + p.name).Scan(&got); err != nil || got != p.want {
			t.Errorf("PRAGMA %s = %d, %v; want %d", p.name, got, err, p.want)
		}
	}
	if _, err := s.reader.Exec(`INSERT INTO meta (key, value) VALUES ('x', 'y')`); err == nil {
		t.Error("the reader pool accepted a write")
	}
}

func TestOpenRejectsBadPaths(t *testing.T) {
	for _, path := range []string{"", "a?b", filepath.Join(t.TempDir(), "missing-dir", "x.db")} {
		if s, err := Open(context.Background(), Options{Path: path}); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", path)
		}
	}
}

func TestReopenKeepsDataAndSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hookd.db")
	ctx := context.Background()
	s, err := Open(ctx, Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	team := store.Team{ID: uuid.New(), DisplayName: "kept"}
	if err := s.CreateTeam(ctx, team); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, Options{Path: path})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	got, err := s.GetTeam(ctx, team.ID)
	if err != nil || got.DisplayName != "kept" {
		t.Fatalf("after reopen GetTeam = %+v, %v", got, err)
	}
}

func TestClosedStoreRefusesWork(t *testing.T) {
	s, _ := openTemp(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	ctx := context.Background()
	if _, err := s.IngestEvents(ctx, []store.NewEvent{{ID: uuid.New(), TaskID: uuid.New()}}, store.IngestOptions{}); !errors.Is(err, errClosed) {
		t.Fatalf("IngestEvents after Close = %v, want errClosed", err)
	}
	if err := s.Ping(ctx); err == nil {
		t.Fatal("Ping after Close succeeded")
	}
}

// TestAdminProcessSharesTheFile is the `hookd team create` while `serve`
// runs case: a second Store on the same file writes while the first is
// busy, and both succeed thanks to the busy timeout.
func TestAdminProcessSharesTheFile(t *testing.T) {
	serve, path := openTemp(t)
	admin, err := Open(context.Background(), Options{Path: path})
	if err != nil {
		t.Fatalf("second Open: %v", err)
	}
	defer admin.Close()
	ctx := context.Background()
	done := make(chan error, 1)
	go func() {
		for range 200 {
			ev := store.NewEvent{ID: uuid.New(), TeamID: uuid.New(), TaskID: uuid.New(), EventType: "task.completed", TaskStatus: "completed", Body: []byte("{}")}
			if _, err := serve.IngestEvents(ctx, []store.NewEvent{ev}, store.IngestOptions{}); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for i := range 50 {
		if err := admin.CreateTeam(ctx, store.Team{ID: uuid.New(), DisplayName: "t"}); err != nil {
			t.Fatalf("admin write %d: %v", i, err)
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("serve write: %v", err)
	}
}

func TestMigrationsAreEmbedded(t *testing.T) {
	entries, err := migrations.ReadDir("migrations")
	if err != nil || len(entries) == 0 {
		t.Fatalf("embedded migrations: %v, %d files", err, len(entries))
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".sql") {
			t.Errorf("unexpected migration file %s", e.Name())
		}
	}
}
