package postgres

import (
	"testing"

	"github.com/hookd/hookd/internal/store"
	"github.com/hookd/hookd/internal/store/storetest"
)

// TestSharedSuite runs the behaviour contract every store implements.
func TestSharedSuite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return TestStore(t) })
}

// TestObserver runs the shared cases of what the store reports.
func TestObserver(t *testing.T) {
	storetest.RunObserved(t, func(t *testing.T, obs store.Observer) store.Store {
		opt := TestSchema(t)
		opt.Observer = obs
		return OpenTest(t, opt)
	})
}

// TestMultiProcess runs the shared multi-process cases with two Stores on
// one schema, as two hookd processes sharing a database.
func TestMultiProcess(t *testing.T) {
	storetest.RunMultiProcess(t, func(t *testing.T) (store.Store, store.Store) {
		opt := TestSchema(t)
		return OpenTest(t, opt), OpenTest(t, opt)
	})
}
