package postgres

import (
	"context"
	"io/fs"
	"sync"
	"testing"

	"github.com/hookd/hookd/internal/store"
)

// TestConcurrentOpensMigrateOnce: processes starting together on an empty
// schema take turns on the migration lock and all come up.
func TestConcurrentOpensMigrateOnce(t *testing.T) {
	opt := TestSchema(t)
	var wg sync.WaitGroup
	stores := make([]*Store, 4)
	errs := make([]error, 4)
	for i := range stores {
		wg.Go(func() { stores[i], errs[i] = Open(context.Background(), opt) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	files, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("embedded migrations: %v, %v", files, err)
	}
	var applied, distinct int
	if err := stores[0].pool.QueryRow(t.Context(), `SELECT count(*), count(DISTINCT version_id)
		FROM goose_db_version WHERE version_id > 0`).Scan(&applied, &distinct); err != nil {
		t.Fatal(err)
	}
	if applied != len(files) || distinct != len(files) {
		t.Fatalf("%d migrations recorded (%d distinct), want each of the %d once", applied, distinct, len(files))
	}
	if got, err := stores[3].EnsureMeta(t.Context(), "k", "v"); err != nil || got != "v" {
		t.Fatalf("store works after concurrent open: %q, %v", got, err)
	}
}

func TestOpenRefusesBadOptions(t *testing.T) {
	for name, opt := range map[string]Options{
		"bad url":          {URL: "::not a url"},
		"schema injection": {URL: "postgres://127.0.0.1/x", Schema: `x"; DROP TABLE y; --`},
		"upper-case":       {URL: "postgres://127.0.0.1/x", Schema: "Hookd"},
	} {
		if s, err := Open(context.Background(), opt); err == nil {
			s.Close()
			t.Errorf("%s: Open succeeded", name)
		}
	}
}

func TestInvalidPageIsAnError(t *testing.T) {
	s := TestStore(t)
	team, webhook := fixture(t, s)
	if _, _, err := s.ListWebhooks(t.Context(), team, "", store.Page{}); err == nil {
		t.Error("ListWebhooks accepted page 0")
	}
	if _, _, err := s.ListDeliveries(t.Context(), team, webhook, store.DeliveryFilter{}, store.Page{Number: 1}); err == nil {
		t.Error("ListDeliveries accepted size 0")
	}
	if _, _, err := s.ListCredentials(t.Context(), team, "", store.Page{Number: -1, Size: 5}); err == nil {
		t.Error("ListCredentials accepted a negative page")
	}
}
