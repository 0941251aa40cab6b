package postgres

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// logPlan is EXPLAIN's plan of sql, run as ListDeliveries runs it (its
// transaction and settings), as "<node type> <index><relation>" strings.
func logPlan(t *testing.T, s *Store, logIndexPage bool, sql string, args ...any) string {
	t.Helper()
	conn, err := s.pool.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	b := &pgx.Batch{}
	queueLogSetup(b, logIndexPage)
	if err := conn.SendBatch(t.Context(), b).Close(); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(t.Context(), `ROLLBACK`)
	var plan []byte
	if err := conn.QueryRow(t.Context(), `EXPLAIN (FORMAT JSON) `+sql, args...).Scan(&plan); err != nil {
		t.Fatal(err)
	}
	return planNodes(t, plan)
}

// TestLogPagesReadTheLogIndex: a log whose newest deliveries are pending
// (an endpoint down) and whose older ones mostly succeeded. Both with no
// statistics (a table filled faster than autovacuum analyses it) and
// vacuumed and analysed, every status range of a page is walked in the log
// index to the page's end: never the primary key newest first, filtering
// on status (it reads every newer delivery of another status to find a
// page of succeeded ones), never a bitmap of the whole range then sorted.
// A task's deliveries are found through its event, never through the
// webhook's range of the log index.
func TestLogPagesReadTheLogIndex(t *testing.T) {
	s := TestStore(t)
	team, webhook := fixture(t, s)
	start := time.Now().UTC().Add(-time.Hour)
	for i := range 20 { // one ingest call per 1,000 events
		queue(t, s, team, start.Add(time.Duration(i)*time.Second), 1000)
	}
	if _, err := s.pool.Exec(t.Context(), `UPDATE deliveries SET status = CASE WHEN n % 20 = 0 THEN 'failed' ELSE 'succeeded' END,
			queue_at = NULL, next_attempt_at = NULL, completed_at = now()
		FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM deliveries) o
		WHERE o.id = deliveries.id AND o.n <= 18000`); err != nil {
		t.Fatal(err)
	}
	var task uuid.UUID
	if err := s.pool.QueryRow(t.Context(), `SELECT task_id FROM events LIMIT 1`).Scan(&task); err != nil {
		t.Fatal(err)
	}
	pages := map[string]struct {
		sql  string
		args []any
	}{
		"whole log, page 1":   {pageOf(mergedLog+` LIMIT $3 OFFSET $4`, countAll), []any{webhook, 20, 20, 0}},
		"whole log, page 100": {pageOf(mergedLog+` LIMIT $3 OFFSET $4`, countAll), []any{webhook, 2000, 20, 1980}},
		"succeeded, page 1":   {pageOf(logRange("$2")+` LIMIT $3 OFFSET $4`, countStatus), []any{webhook, "succeeded", 20, 0}},
		"succeeded, page 100": {pageOf(logRange("$2")+` LIMIT $3 OFFSET $4`, countStatus), []any{webhook, "succeeded", 20, 1980}},
		"failed, page 1":      {pageOf(logRange("$2")+` LIMIT $3 OFFSET $4`, countStatus), []any{webhook, "failed", 20, 0}},
	}
	check := func(state string) {
		for name, c := range pages {
			plan := logPlan(t, s, true, c.sql, c.args...)
			want := 1
			if strings.HasPrefix(name, "whole log") {
				want = 4
			}
			if strings.Count(plan, "Index Only Scan deliveries_log") != want || strings.Contains(plan, "Seq Scan") ||
				strings.Contains(plan, "Bitmap") || strings.Count(plan, "deliveries_pkey") != 1 { // the page's rows, by id
				t.Errorf("%s, %s: plan %s; want %d ordered walks of deliveries_log, then the page's rows by primary key", state, name, plan, want)
			}
		}
		plan := logPlan(t, s, false, taskDeliveries+`SELECT count(*) FROM d`, task, webhook, "")
		if !strings.Contains(plan, "deliveries_event") || strings.Contains(plan, "deliveries_log") || strings.Contains(plan, "Seq Scan deliveries") {
			t.Errorf("%s, task: plan %s; want the task's deliveries through deliveries_event only", state, plan)
		}
	}
	check("no statistics")
	for _, sql := range []string{`VACUUM ANALYZE deliveries`, `VACUUM ANALYZE events`} {
		if _, err := s.pool.Exec(t.Context(), sql); err != nil {
			t.Fatal(err)
		}
	}
	check("analysed")
}

// TestPageBeyondTheEndReadsNothing: a page at or past the end of its rows
// (by delivery_counts) does not walk the log index at all.
func TestPageBeyondTheEndReadsNothing(t *testing.T) {
	s := TestStore(t)
	team, webhook := fixture(t, s)
	queue(t, s, team, time.Now().UTC().Add(-time.Minute), 100)
	for name, c := range map[string]struct {
		sql  string
		args []any
	}{
		"whole log": {pageOf(mergedLog+` LIMIT $3 OFFSET $4`, countAll), []any{webhook, 120, 20, 100}},
		"pending":   {pageOf(logRange("$2")+` LIMIT $3 OFFSET $4`, countStatus), []any{webhook, "pending", 20, 100}},
	} {
		var plan string
		rows, err := s.pool.Query(t.Context(), `EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) `+c.sql, c.args...)
		if err != nil {
			t.Fatal(err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		plan = strings.Join(lines, "\n")
		for _, l := range lines {
			if strings.Contains(l, "deliveries_log") && !strings.Contains(l, "never executed") {
				t.Errorf("%s: the log index was read:\n%s", name, plan)
			}
		}
		if !strings.Contains(plan, "deliveries_log") {
			t.Errorf("%s: plan without the log index:\n%s", name, plan)
		}
	}
}
