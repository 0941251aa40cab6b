package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/hookd/hookd/internal/store"
)

// LogQuery is one kind of delivery-log page the log scenario reads, with
// the total_count every answer must carry and the latencies it measured.
type LogQuery struct {
	Kind       string  `json:"kind"`                      // e.g. "all p1", "failed p500", "task"
	Status     string  `json:"delivery_status,omitempty"` // the delivery_status filter
	Task       bool    `json:"task_id_filter,omitempty"`  // a random task of the log per request
	Page       int     `json:"current_page"`
	TotalCount int     `json:"total_count"`
	Requests   int     `json:"requests"`
	Latency    Latency `json:"latency"` // request sent → answer read, in ms
}

// logKinds lists the pages to read: the whole log and each status at page
// 1 and at page 500 (or the last page, when there are fewer; none when the
// range has one page), and the log of one task.
func logKinds(p logPlan) []LogQuery {
	counts := p.counts()
	var kinds []LogQuery
	add := func(name, status string, total int) {
		kinds = append(kinds, LogQuery{Kind: name + " p1", Status: status, Page: 1, TotalCount: total})
		if deep := min(logDeepPage, (total+logPerPage-1)/logPerPage); deep > 1 {
			kinds = append(kinds, LogQuery{Kind: name + " p" + strconv.Itoa(deep), Status: status, Page: deep, TotalCount: total})
		}
	}
	add("all", "", p.total)
	for _, s := range []string{store.StatusSucceeded, store.StatusFailed, store.StatusPending, store.StatusCanceled} {
		add(s, s, counts[s])
	}
	return append(kinds, LogQuery{Kind: "task", Task: true, Page: 1, TotalCount: 1})
}

// logAnswer is the part of a delivery-log page the scenario checks.
type logAnswer struct {
	DeliveryList []logRow `json:"delivery_list"`
	PageMeta     struct {
		CurrentPage int `json:"current_page"`
		PerPage     int `json:"per_page"`
		TotalCount  int `json:"total_count"`
	} `json:"page_meta"`
}

type logRow struct {
	ID             string `json:"id"`
	TaskID         string `json:"task_id"`
	DeliveryStatus string `json:"delivery_status"`
}

// readLogPages reads every kind requests times, the kinds in turn, one
// request at a time, and fills in each kind's latencies. done is called
// after every request.
func readLogPages(ctx context.Context, h *hookd, wh logWebhook, plan logPlan, kinds []LogQuery, requests int, done func()) error {
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x6c6f67))
	took := make([][]time.Duration, len(kinds))
	for range requests {
		for k := range kinds {
			q := kinds[k]
			task := -1
			if q.Task {
				task = rng.IntN(plan.total)
			}
			d, ans, err := getLogPage(ctx, h, wh, q, task)
			if err != nil {
				return fmt.Errorf("%s: %w", q.Kind, err)
			}
			want := ""
			if task >= 0 {
				want = plan.status(task)
			}
			if err := checkLogPage(q, ans, wh, task, want); err != nil {
				return fmt.Errorf("%s: %w", q.Kind, err)
			}
			took[k] = append(took[k], d)
			done()
		}
	}
	for k := range kinds {
		kinds[k].Requests = len(took[k])
		kinds[k].Latency = summarize(took[k])
	}
	return nil
}

// getLogPage reads one page as the webhook's team admin and returns how
// long it took from sending the request to reading the whole answer.
func getLogPage(ctx context.Context, h *hookd, wh logWebhook, q LogQuery, task int) (time.Duration, logAnswer, error) {
	v := url.Values{"current_page": {strconv.Itoa(q.Page)}, "per_page": {strconv.Itoa(logPerPage)}}
	if q.Status != "" {
		v.Set("delivery_status", q.Status)
	}
	if task >= 0 {
		v.Set("task_id", wh.tasks[task].String())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.base+"/api/v1/webhooks/"+wh.id.String()+"/deliveries?"+v.Encode(), nil)
	if err != nil {
		return 0, logAnswer{}, err
	}
	req.Header.Set("Authorization", "Bearer "+h.token)
	req.Header.Set("X-Team-ID", h.team.String())
	start := time.Now()
	resp, err := h.api.Do(req)
	if err != nil {
		return 0, logAnswer{}, err
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if err != nil {
		return 0, logAnswer{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, logAnswer{}, fmt.Errorf("%d %s", resp.StatusCode, data)
	}
	var ans logAnswer
	if err := json.Unmarshal(data, &ans); err != nil {
		return 0, logAnswer{}, fmt.Errorf("reading the answer: %w", err)
	}
	return took, ans, nil
}

// checkLogPage checks an answer against what was written: total_count, the
// number of rows on the page, newest first, every row in the filtered
// status; for a task (wh.tasks[task]), its one delivery in its planned
// status wantStatus.
func checkLogPage(q LogQuery, ans logAnswer, wh logWebhook, task int, wantStatus string) error {
	if got := ans.PageMeta.TotalCount; got != q.TotalCount {
		return fmt.Errorf("total_count %d, want %d", got, q.TotalCount)
	}
	if ans.PageMeta.CurrentPage != q.Page || ans.PageMeta.PerPage != logPerPage {
		return fmt.Errorf("page_meta %+v, want page %d of %d", ans.PageMeta, q.Page, logPerPage)
	}
	rows := min(max(q.TotalCount-(q.Page-1)*logPerPage, 0), logPerPage)
	if len(ans.DeliveryList) != rows {
		return fmt.Errorf("%d rows, want %d", len(ans.DeliveryList), rows)
	}
	for i, d := range ans.DeliveryList {
		// Canonical UUIDs of the same length: string order is byte order,
		// and ids (UUIDv7) are the log's newest-first order.
		if i > 0 && d.ID >= ans.DeliveryList[i-1].ID {
			return fmt.Errorf("row %d (%s) is not older than row %d (%s)", i, d.ID, i-1, ans.DeliveryList[i-1].ID)
		}
		if q.Status != "" && d.DeliveryStatus != q.Status {
			return fmt.Errorf("row %d is %s", i, d.DeliveryStatus)
		}
		if task >= 0 && (d.TaskID != wh.tasks[task].String() || d.DeliveryStatus != wantStatus) {
			return fmt.Errorf("task %s: row of task %s in status %s, want status %s", wh.tasks[task], d.TaskID, d.DeliveryStatus, wantStatus)
		}
	}
	return nil
}
