package postgres

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestRoundPlansUseTheTaskIndex: the generic plan a pooled connection caches
// for the ingest's events lookup, made while the events table is analysed
// empty (a new deployment), must still find tasks through the task_id index
// in a write round. Without keyedPlans that plan is a sequential scan, and
// it stays cached while the table grows: every ingest read the whole table.
func TestRoundPlansUseTheTaskIndex(t *testing.T) {
	s := TestStore(t)
	ctx := t.Context()
	if _, err := s.pool.Exec(ctx, `ANALYZE events`); err != nil {
		t.Fatal(err)
	}
	genericPlan := func(opts pgx.TxOptions) string {
		t.Helper()
		conn, err := s.pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Release()
		var plan string
		err = pgx.BeginTxFunc(ctx, conn, opts, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SET LOCAL plan_cache_mode = force_generic_plan`); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `PREPARE round_plan_probe(uuid[]) AS `+eventsByTask); err != nil {
				return err
			}
			rows, err := tx.Query(ctx, `EXPLAIN EXECUTE round_plan_probe(ARRAY[gen_random_uuid()])`)
			if err != nil {
				return err
			}
			lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
			plan = strings.Join(lines, "\n")
			if err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `DEALLOCATE round_plan_probe`)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return plan
	}

	// The hazard this guards against is real here: without the setting the
	// generic plan scans the table.
	if plan := genericPlan(pgx.TxOptions{}); !strings.Contains(plan, "Seq Scan on events") {
		t.Fatalf("control: the generic plan on an analysed empty table no longer scans it; this test shows nothing:\n%s", plan)
	}
	for name, opts := range map[string]pgx.TxOptions{"ingest round": syncCommit, "outcome round": asyncCommit} {
		if plan := genericPlan(opts); strings.Contains(plan, "Seq Scan") || !strings.Contains(plan, "events_task_id") {
			t.Errorf("%s: events lookup planned as\n%s\nwant the events_task_id index", name, plan)
		}
	}
}
