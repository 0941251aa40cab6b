package postgres

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd/internal/store"
)

// queue ingests n events for team, one delivery each, due one millisecond
// apart from start, and returns the delivery ids in due order.
func queue(t *testing.T, s *Store, team uuid.UUID, start time.Time, n int) []uuid.UUID {
	t.Helper()
	evs := make([]store.NewEvent, n)
	for i := range evs {
		evs[i] = newEvent(team)
		evs[i].CreatedAt = start.Add(time.Duration(i) * time.Millisecond)
	}
	if _, err := s.IngestEvents(t.Context(), evs, store.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	rows, _ := s.pool.Query(t.Context(), `SELECT id FROM deliveries ORDER BY next_attempt_at, id`)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestLeaseWalksPagesInDueOrder: a Limit larger than the first page is
// filled from later pages, in due order, and the row after the last leased
// one is NextDue.
func TestLeaseWalksPagesInDueOrder(t *testing.T) {
	s := TestStore(t)
	team, _ := fixture(t, s)
	start := time.Now().UTC().Add(-time.Minute).Truncate(time.Millisecond)
	ids := queue(t, s, team, start, 150)

	limit := 3*firstPage + 5 // three pages: 32, 64, then the rest
	res, err := s.Lease(t.Context(), store.LeaseRequest{Owner: "a", Now: time.Now(), Until: time.Now().Add(time.Minute), Limit: limit})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Deliveries) != limit {
		t.Fatalf("leased %d, want %d", len(res.Deliveries), limit)
	}
	for i, d := range res.Deliveries {
		if d.DeliveryID != ids[i] {
			t.Fatalf("leased #%d is %v, want %v (due order)", i, d.DeliveryID, ids[i])
		}
	}
	if want := start.Add(time.Duration(limit) * time.Millisecond); res.NextDue == nil || !res.NextDue.Equal(want) {
		t.Fatalf("NextDue = %v, want %v (the first row left)", res.NextDue, want)
	}
}

// TestLeaseStopsAfterARunOfRefusals: a lane that fills stops the walk after
// maxRefusalRun refusals instead of locking the whole window, and the first
// refused row is NextDue.
func TestLeaseStopsAfterARunOfRefusals(t *testing.T) {
	s := TestStore(t)
	team, _ := fixture(t, s)
	start := time.Now().UTC().Add(-time.Minute).Truncate(time.Millisecond)
	ids := queue(t, s, team, start, 200)

	const room = 3
	asked := 0
	res, err := s.Lease(t.Context(), store.LeaseRequest{Owner: "a", Now: time.Now(), Until: time.Now().Add(time.Minute), Limit: 240,
		Admit: func(uuid.UUID) bool { asked++; return asked <= room }})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Deliveries) != room || res.Deliveries[0].DeliveryID != ids[0] {
		t.Fatalf("leased %v, want the first %d", res.Deliveries, room)
	}
	if asked > firstPage {
		t.Errorf("Admit asked about %d rows, want at most one page (%d)", asked, firstPage)
	}
	if want := start.Add(room * time.Millisecond); res.NextDue == nil || !res.NextDue.Equal(want) {
		t.Fatalf("NextDue = %v, want %v (the first refused row)", res.NextDue, want)
	}
	// The refused rows were only locked for the round: another owner takes them.
	again, err := s.Lease(t.Context(), store.LeaseRequest{Owner: "b", Now: time.Now(), Until: time.Now().Add(time.Minute), Limit: 1})
	if err != nil || len(again.Deliveries) != 1 || again.Deliveries[0].DeliveryID != ids[room] {
		t.Fatalf("next lease = %+v, %v; want %v", again.Deliveries, err, ids[room])
	}
}

// TestCandidatePlanIgnoresStaleStatistics: with statistics taken while the
// table was empty, the candidate query inside the lease transaction still
// walks deliveries_queue, no sort and no sequential scan: the plan that
// sorted every pending row per round is out of reach.
func TestCandidatePlanIgnoresStaleStatistics(t *testing.T) {
	s := TestStore(t)
	team, _ := fixture(t, s)
	if _, err := s.pool.Exec(t.Context(), `ANALYZE deliveries`); err != nil {
		t.Fatal(err)
	}
	queue(t, s, team, time.Now().UTC().Add(-time.Minute), 2000)

	conn, err := s.pool.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	b := &pgx.Batch{}
	for _, sql := range leaseSetup {
		b.Queue(sql)
	}
	if err := conn.SendBatch(t.Context(), b).Close(); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(t.Context(), `ROLLBACK`)
	var plan []byte
	err = conn.QueryRow(t.Context(), `EXPLAIN (FORMAT JSON) `+candidatesSQL, time.Now(), []uuid.UUID{}, 128).Scan(&plan)
	if err != nil {
		t.Fatal(err)
	}
	joined := planNodes(t, plan)
	if !strings.Contains(joined, "Index Scan deliveries_queue") || strings.Contains(joined, "Sort") ||
		strings.Contains(joined, "Seq Scan deliveries") || strings.Contains(joined, "Bitmap") {
		t.Fatalf("candidate plan: %s; want an ordered walk of deliveries_queue", joined)
	}
}

// planNodes lists the nodes of an EXPLAIN (FORMAT JSON) plan as
// "<node type> <index><relation>" strings joined by "; ".
func planNodes(t *testing.T, plan []byte) string {
	t.Helper()
	var nodes []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if n, ok := v["Node Type"].(string); ok {
				nodes = append(nodes, n+" "+str(v["Index Name"])+str(v["Relation Name"]))
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	var doc any
	if err := json.Unmarshal(plan, &doc); err != nil {
		t.Fatal(err)
	}
	walk(doc)
	return strings.Join(nodes, "; ")
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
