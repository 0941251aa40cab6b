package delivery

import (
	"context"
	"net/http"
	"testing"
	"time"
)

func TestZZDebug(t *testing.T) {
	for i := 0; i < 8; i++ {
		t.Run("x", zzOne)
	}
}

func zzOne(t *testing.T) {
	st := openSQLite(t)
	e := newEnv(t, st)
	rc := newReceiver(t, answer(http.StatusInternalServerError, "boom"))
	w, _ := e.webhook(t, e.team, rc.URL())
	eng := e.newEngine(t, Config{Schedule: quickSchedule})
	start(t, eng)
	e.ingest(t, e.team, 1)
	eng.Wake()
	id := e.only(t, e.team, w).ID
	time.Sleep(2 * time.Second)
	d, _ := st.GetDelivery(context.Background(), e.team.ID, w.ID, id)
	t.Logf("status %s count %d next %v reqs %d", d.Status, d.AttemptCount, d.NextAttemptAt, rc.count())
	for _, a := range d.Attempts {
		t.Logf("attempt %d %v", a.AttemptNumber, a.StartedAt)
	}
	for _, r := range rc.requests() {
		t.Logf("req at %v", r.at)
	}
	total, per := eng.lanes.inUse(w.ID)
	t.Logf("lanes %d %d now %v", total, per, time.Now())
	if d.Status == "failed" { t.SkipNow() }
}
