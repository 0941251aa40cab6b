package sqlite

import (
	"strings"
	"testing"
)

// queryPlan is SQLite's EXPLAIN QUERY PLAN of q, one detail per line.
func queryPlan(t *testing.T, s *Store, q string, args ...any) string {
	t.Helper()
	rows, err := s.reader.Query(`EXPLAIN QUERY PLAN `+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var id, parent, notUsed int
		var detail string
		if err := rows.Scan(&id, &parent, &notUsed, &detail); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, detail)
	}
	return strings.Join(lines, "\n")
}

// The whole log of a webhook is read as a merge of its four status ranges,
// each in index order: no sort, so a page costs its offset, not the log;
// and from the index alone, so the entries the offset skips cost no table
// lookup.
func TestMergedLogIsAMergeOfIndexRanges(t *testing.T) {
	s, _ := openTemp(t)
	plan := queryPlan(t, s, mergedLog+` LIMIT 20 OFFSET 10000`, blob([16]byte{}))
	if !strings.Contains(plan, "MERGE (UNION ALL)") || strings.Contains(plan, "TEMP B-TREE") ||
		strings.Count(plan, "USING COVERING INDEX deliveries_log") != 4 {
		t.Fatalf("plan of the merged log:\n%s", plan)
	}
	// The page: those ids, then one primary-key search per row of the page
	// (the only sort is of the page's own rows).
	plan = queryPlan(t, s, mergedPage, blob([16]byte{}), 20, 10000)
	if !strings.Contains(plan, "MERGE (UNION ALL)") || strings.Count(plan, "USING COVERING INDEX deliveries_log") != 4 ||
		!strings.Contains(plan, "SEARCH d USING PRIMARY KEY") {
		t.Fatalf("plan of a page of the merged log:\n%s", plan)
	}
}

// A page of one status skips its offset in the log index alone and reads
// only the page's rows from the table.
func TestStatusPageSkipsInTheIndex(t *testing.T) {
	s, _ := openTemp(t)
	plan := queryPlan(t, s, statusPage, blob([16]byte{}), "failed", 20, 10000)
	if !strings.Contains(plan, "USING COVERING INDEX deliveries_log") || !strings.Contains(plan, "SEARCH d USING PRIMARY KEY") ||
		strings.Contains(plan, "SCAN") {
		t.Fatalf("plan of a page of one status:\n%s", plan)
	}
}

// QueueStats reads index ranges, never the log: the live leases from the
// queue index after now, the first queue entry without a sort, and one log
// index entry per webhook with pending deliveries.
func TestQueueStatsReadIndexes(t *testing.T) {
	s, _ := openTemp(t)
	for _, c := range []struct{ name, q, want string }{
		{"live leases", liveLeasesSQL, "SEARCH deliveries USING INDEX deliveries_queue (queue_at>? AND queue_at<?)"},
		{"first in queue", firstInQueueSQL, "SCAN deliveries USING COVERING INDEX deliveries_queue"},
		{"oldest pending", oldestPendingSQL, "SEARCH d USING INDEX deliveries_log (webhook_id=? AND status=?)"},
	} {
		plan := queryPlan(t, s, c.q, int64(0), int64(1))
		if !strings.Contains(plan, c.want) || strings.Contains(plan, "TEMP B-TREE") {
			t.Errorf("plan of %s:\n%s\nwant %q and no sort", c.name, plan, c.want)
		}
	}
}
