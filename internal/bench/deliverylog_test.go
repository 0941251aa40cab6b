package bench

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/hookd/hookd/internal/store"
)

// The plan of the log has every status at every size, ~90/5/4/1 % of the
// deliveries at large sizes, pending only in the newest batches and each
// canceled batch before them (a disable must find nothing else pending).
func TestLogPlanShares(t *testing.T) {
	for _, n := range []int{minLogDeliveries, 3000, 100_000, 1_000_000, 1_234_567} {
		p := newLogPlan(n)
		c := p.counts()
		sum := 0
		for _, s := range store.Statuses {
			if c[s] == 0 {
				t.Errorf("%d: no %s deliveries: %v", n, s, c)
			}
			sum += c[s]
		}
		if sum != n {
			t.Errorf("%d: counts %v add up to %d", n, c, sum)
		}
		for b := range p.canceled {
			if b >= p.pendingFrom {
				t.Errorf("%d: canceled batch %d at or after the pending ones (%d)", n, b, p.pendingFrom)
			}
		}
		for i := range n {
			if (p.status(i) == store.StatusPending) != (i/p.batch >= p.pendingFrom) {
				t.Fatalf("%d: delivery %d is %s in batch %d, pending from %d", n, i, p.status(i), i/p.batch, p.pendingFrom)
			}
		}
		if n >= 100_000 {
			for s, want := range map[string]float64{store.StatusSucceeded: 0.90, store.StatusFailed: 0.05,
				store.StatusPending: 0.04, store.StatusCanceled: 0.01} {
				if got := float64(c[s]) / float64(n); got < want*0.9 || got > want*1.1 {
					t.Errorf("%d: %s share %.4f, want ~%.2f", n, s, got, want)
				}
			}
		}
	}
	if c := newLogPlan(1_000_000).counts(); c[store.StatusSucceeded] != 902_500 || c[store.StatusFailed] != 47_500 ||
		c[store.StatusPending] != 40_000 || c[store.StatusCanceled] != 10_000 {
		t.Errorf("1,000,000: %v", c)
	}
}

// Page 500 where a status has 500 pages, its last page otherwise, none
// beyond page 1 when it has one page.
func TestLogKinds(t *testing.T) {
	var names []string
	for _, k := range logKinds(newLogPlan(1_000_000)) {
		names = append(names, k.Kind)
	}
	want := "all p1,all p500,succeeded p1,succeeded p500,failed p1,failed p500,pending p1,pending p500,canceled p1,canceled p500,task"
	if got := strings.Join(names, ","); got != want {
		t.Errorf("kinds %s, want %s", got, want)
	}
	for _, k := range logKinds(newLogPlan(minLogDeliveries)) {
		if k.Status == store.StatusCanceled && k.Page > 1 {
			t.Errorf("a page beyond the only page of 1 canceled delivery: %+v", k)
		}
	}
}

// Every answer is checked: total_count, rows on the page, order, status.
func TestCheckLogPage(t *testing.T) {
	task := uuid.New()
	wh := logWebhook{tasks: []uuid.UUID{task}}
	answer := func(total int, page int, rows ...string) logAnswer {
		var a logAnswer
		a.PageMeta.TotalCount, a.PageMeta.CurrentPage, a.PageMeta.PerPage = total, page, logPerPage
		for _, id := range rows {
			a.DeliveryList = append(a.DeliveryList, logRow{id, task.String(), "failed"})
		}
		return a
	}
	failedLast := LogQuery{Kind: "failed p2", Status: "failed", Page: 2, TotalCount: 22}
	if err := checkLogPage(failedLast, answer(22, 2, "b", "a"), wh, -1, ""); err != nil {
		t.Errorf("a right answer refused: %v", err)
	}
	for name, c := range map[string]struct {
		q    LogQuery
		ans  logAnswer
		task int
		want string
	}{
		"total_count": {failedLast, answer(21, 2, "b", "a"), -1, "total_count 21, want 22"},
		"row count":   {failedLast, answer(22, 2, "b"), -1, "1 rows, want 2"},
		"order":       {failedLast, answer(22, 2, "a", "b"), -1, "not older"},
		"page":        {failedLast, answer(22, 1, "b", "a"), -1, "page_meta"},
		"status":      {LogQuery{Status: "succeeded", Page: 1, TotalCount: 1}, answer(1, 1, "a"), -1, "row 0 is failed"},
		"task status": {LogQuery{Task: true, Page: 1, TotalCount: 1}, answer(1, 1, "a"), 0, "want status pending"},
	} {
		want := ""
		if c.task >= 0 {
			want = store.StatusPending
		}
		err := checkLogPage(c.q, c.ans, wh, c.task, want)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}
