package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/hookd/hookd/internal/store"
	"github.com/hookd/hookd/internal/store/sqlite"
	"github.com/hookd/hookd/internal/store/storetest"
)

func open(t *testing.T, path string, exclusive bool) store.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), sqlite.Options{Path: path, Exclusive: exclusive})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// TestStore runs the shared suite against a fresh file per subtest.
func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, filepath.Join(t.TempDir(), "hookd.db"), true)
	})
}

// TestObserver runs the shared cases of what the store reports.
func TestObserver(t *testing.T) {
	storetest.RunObserved(t, func(t *testing.T, obs store.Observer) store.Store {
		s, err := sqlite.Open(t.Context(), sqlite.Options{Path: filepath.Join(t.TempDir(), "hookd.db"), Exclusive: true, Observer: obs})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}

// TestMultiProcess opens the file twice, as `serve` and an admin command
// would: SQLite's own file lock serialises their writers.
func TestMultiProcess(t *testing.T) {
	storetest.RunMultiProcess(t, func(t *testing.T) (store.Store, store.Store) {
		path := filepath.Join(t.TempDir(), "hookd.db")
		return open(t, path, true), open(t, path, false)
	})
}
