package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// maxIngestBatch is SPEC §4's batch limit.
const maxIngestBatch = 1000

// accepted is what one batch ingest answered: the event ids in input order,
// the deliveries hookd created for them, and when the answer arrived.
type accepted struct {
	events     []uuid.UUID
	deliveries int
	sentAt     time.Time
	answeredAt time.Time
}

type batchAnswer struct {
	Results []struct {
		EventID       string `json:"event_id"`
		DeliveryCount *int   `json:"delivery_count"`
		Duplicate     *bool  `json:"duplicate"`
		Status        int    `json:"status"`
		ErrorMessage  string `json:"error_message"`
	} `json:"results"`
}

// appendEvent appends one completed-task event shaped like SPEC §4's example.
func appendEvent(b []byte, team, task uuid.UUID) []byte {
	b = append(b, `{"team_id":"`...)
	b = append(b, team.String()...)
	b = append(b, `","task_id":"`...)
	b = append(b, task.String()...)
	b = append(b, `","task_status":"completed","task_output":{"storage_key":"tasks/`...)
	b = append(b, task.String()...)
	b = append(b, `/output.png","image_count":1},"task_error":""}`...)
	return b
}

// ingestBatch posts n fresh events through POST /internal/v1/task-events/batch.
// Every event must be accepted as new; anything else is an error.
func (h *hookd) ingestBatch(ctx context.Context, n int) (accepted, error) {
	body := make([]byte, 0, 64+n*260)
	body = append(body, `{"events":[`...)
	for i := range n {
		if i > 0 {
			body = append(body, ',')
		}
		body = appendEvent(body, h.team, uuid.Must(uuid.NewV7()))
	}
	body = append(body, "]}"...)
	data, sent, answered, err := h.postIngest(ctx, "/internal/v1/task-events/batch", body, http.StatusOK)
	if err != nil {
		return accepted{}, fmt.Errorf("batch ingest: %w", err)
	}
	var ans batchAnswer
	if err := json.Unmarshal(data, &ans); err != nil {
		return accepted{}, fmt.Errorf("batch ingest answer: %w", err)
	}
	if len(ans.Results) != n {
		return accepted{}, fmt.Errorf("batch ingest: %d results for %d events", len(ans.Results), n)
	}
	out := accepted{events: make([]uuid.UUID, n), sentAt: sent, answeredAt: answered}
	for i, r := range ans.Results {
		if r.Status != 0 || r.DeliveryCount == nil || r.Duplicate == nil || *r.Duplicate {
			return accepted{}, fmt.Errorf("batch ingest: event %d not accepted as new: status %d %s", i, r.Status, r.ErrorMessage)
		}
		if out.events[i], err = uuid.Parse(r.EventID); err != nil {
			return accepted{}, fmt.Errorf("batch ingest: event %d: event_id: %w", i, err)
		}
		out.deliveries += *r.DeliveryCount
	}
	return out, nil
}

// postIngest posts body to an ingest path with the ingest token and returns
// the answer's body and when the call was sent and answered; a status other
// than want is an error quoting the answer.
func (h *hookd) postIngest(ctx context.Context, path string, body []byte, want int) (data []byte, sent, answered time.Time, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, sent, answered, err
	}
	req.Header.Set("Authorization", "Bearer "+h.ingestToken)
	req.Header.Set("Content-Type", "application/json")
	sent = time.Now()
	resp, err := h.api.Do(req)
	if err != nil {
		return nil, sent, answered, err
	}
	data, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	answered = time.Now()
	if err != nil {
		return nil, sent, answered, err
	}
	if resp.StatusCode != want {
		return nil, sent, answered, fmt.Errorf("%d %s", resp.StatusCode, bytes.TrimSpace(data))
	}
	return data, sent, answered, nil
}

// ingestAll ingests total events in batches of batch with concurrency
// requests in flight, as fast as hookd answers. onBatch (optional) sees
// every answer. It returns the deliveries hookd reported creating.
func (h *hookd) ingestAll(ctx context.Context, total, batch, concurrency int, onBatch func(accepted)) (int64, error) {
	batch = min(max(batch, 1), maxIngestBatch)
	var next, deliveries atomic.Int64
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for range max(concurrency, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				end := next.Add(int64(batch))
				n := min(int64(batch), int64(total)-(end-int64(batch)))
				if n <= 0 {
					return
				}
				acc, err := h.ingestBatch(ctx, int(n))
				if err != nil {
					cancel(err)
					return
				}
				deliveries.Add(int64(acc.deliveries))
				if onBatch != nil {
					onBatch(acc)
				}
			}
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return deliveries.Load(), err
	}
	return deliveries.Load(), nil
}

// ingestAtRate ingests rate events per second for d, one batch every tick
// (open loop: a slow answer does not delay the next batch; at most
// maxInFlight batches wait for answers, beyond that the generator falls
// behind and the caller sees fewer events than planned).
func (h *hookd) ingestAtRate(ctx context.Context, rate float64, d, tick time.Duration, onBatch func(accepted)) (sent int64, err error) {
	const maxInFlight = 64
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	slots := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	start := time.Now()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case now := <-ticker.C:
			elapsed := min(now.Sub(start), d)
			due := int64(rate*elapsed.Seconds()) - sent
			for due > 0 {
				n := min(due, maxIngestBatch)
				select {
				case slots <- struct{}{}:
				default:
					continue loop // behind: try again next tick
				}
				sent += n
				due -= n
				wg.Add(1)
				go func(n int) {
					defer wg.Done()
					defer func() { <-slots }()
					acc, err := h.ingestBatch(ctx, n)
					if err != nil {
						cancel(err)
						return
					}
					onBatch(acc)
				}(int(n))
			}
			if elapsed >= d {
				break loop
			}
		}
	}
	wg.Wait()
	return sent, context.Cause(ctx)
}
