package delivery

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/store"
)

// The purger removes terminal deliveries older than the retention and
// keeps pending ones.
func TestRunPurgerDeletesOldTerminalDeliveries(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		rc := newReceiver(t, answer(http.StatusOK, ""))
		done, _ := e.webhook(t, e.team, rc.URL())
		eng := e.newEngine(t, Config{})
		stop := start(t, eng)
		e.ingest(t, e.team, 1)
		eng.Wake()
		id := e.only(t, e.team, done).ID
		e.settled(t, e.team, done, id, 5*time.Second)
		stop()

		waiting := newTeam(t, st)
		pendingHook, _ := e.webhook(t, waiting, rc.URL())
		e.ingest(t, waiting, 1) // no engine runs: stays pending
		time.Sleep(20 * time.Millisecond)

		ctx, cancel := context.WithCancel(context.Background())
		finished := make(chan struct{})
		go func() { RunPurger(ctx, st, 10*time.Millisecond, 10*time.Millisecond, nil); close(finished) }()
		waitFor(t, 5*time.Second, "the delivery to be purged", func() bool {
			_, err := st.GetDelivery(context.Background(), e.team.ID, done.ID, id)
			return errors.Is(err, store.ErrNotFound)
		})
		cancel()
		<-finished
		if ds := e.deliveries(t, waiting, pendingHook); len(ds) != 1 || ds[0].Status != store.StatusPending {
			t.Fatalf("pending delivery purged: %+v", ds)
		}
	})
}

func TestRunPurgerDisabledReturns(t *testing.T) {
	finished := make(chan struct{})
	go func() { RunPurger(context.Background(), nil, 0, time.Hour, nil); close(finished) }()
	select {
	case <-finished:
	case <-time.After(time.Second):
		t.Fatal("RunPurger with zero retention did not return")
	}
}
