package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// client calls hookd's HTTP API the way any client would: a bearer token and
// X-Team-ID on the management API, the ingest token on the ingest API.
type client struct {
	http        *http.Client
	base        string // http://127.0.0.1:port
	token       string // the demo user's JWT
	team        string
	ingestToken string
}

func newClient(base, token, team, ingestToken string) *client {
	return &client{
		http: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}},
		base: base, token: token, team: team, ingestToken: ingestToken,
	}
}

// close drops the client's idle connections, so nothing outlives the demo.
func (c *client) close() { c.http.CloseIdleConnections() }

// Answers of the API (SPEC §3–§5), only the fields the demo shows.
type (
	webhookDetail struct {
		ID            string   `json:"id"`
		DisplayName   string   `json:"display_name"`
		WebhookURL    string   `json:"webhook_url"`
		WebhookSecret string   `json:"webhook_secret"`
		WebhookEvents []string `json:"webhook_events"`
		WebhookStatus string   `json:"webhook_status"`
	}
	ingestAnswer struct {
		EventID       string `json:"event_id"`
		DeliveryCount int    `json:"delivery_count"`
	}
	deliverySummary struct {
		ID             string  `json:"id"`
		EventType      string  `json:"event_type"`
		TaskID         string  `json:"task_id"`
		DeliveryStatus string  `json:"delivery_status"`
		AttemptCount   int     `json:"attempt_count"`
		LastStatusCode *int    `json:"last_status_code"`
		LastError      *string `json:"last_error"`
		CreatedAt      string  `json:"created_at"`
		CompletedAt    *string `json:"completed_at"`
	}
	deliveryList struct {
		DeliveryList []deliverySummary `json:"delivery_list"`
		PageMeta     struct {
			TotalCount int `json:"total_count"`
		} `json:"page_meta"`
	}
	attemptView struct {
		AttemptNumber int     `json:"attempt_number"`
		StartedAt     string  `json:"started_at"`
		DurationMS    int64   `json:"duration_ms"`
		StatusCode    *int    `json:"status_code"`
		Error         *string `json:"error"`
		ResponseBody  string  `json:"response_body"`
	}
	deliveryDetail struct {
		deliverySummary
		RequestBody string        `json:"request_body"`
		Attempts    []attemptView `json:"attempts"`
	}
)

func (c *client) createWebhook(ctx context.Context, name, url string, events []string) (string, error) {
	var out struct {
		ID string `json:"id"`
	}
	body := map[string]any{"display_name": name, "webhook_url": url, "webhook_events": events}
	err := c.do(ctx, http.MethodPost, "/api/v1/webhooks", c.token, body, http.StatusCreated, &out)
	return out.ID, err
}

func (c *client) getWebhook(ctx context.Context, id string) (webhookDetail, error) {
	var out webhookDetail
	err := c.do(ctx, http.MethodGet, "/api/v1/webhooks/"+id, c.token, nil, http.StatusOK, &out)
	return out, err
}

func (c *client) ingest(ctx context.Context, event taskEvent) (ingestAnswer, error) {
	var out ingestAnswer
	err := c.do(ctx, http.MethodPost, "/internal/v1/task-events", c.ingestToken, event, http.StatusAccepted, &out)
	return out, err
}

// listDeliveries returns one webhook's deliveries, newest first (the demo
// makes far fewer than one page).
func (c *client) listDeliveries(ctx context.Context, webhookID string) ([]deliverySummary, error) {
	var out deliveryList
	err := c.do(ctx, http.MethodGet, "/api/v1/webhooks/"+webhookID+"/deliveries?per_page=100", c.token, nil, http.StatusOK, &out)
	return out.DeliveryList, err
}

func (c *client) getDelivery(ctx context.Context, webhookID, deliveryID string) (deliveryDetail, error) {
	var out deliveryDetail
	err := c.do(ctx, http.MethodGet, "/api/v1/webhooks/"+webhookID+"/deliveries/"+deliveryID, c.token, nil, http.StatusOK, &out)
	return out, err
}

// do sends one request and decodes the answer into out; an answer other
// than want is an error carrying the API's error_message.
func (c *client) do(ctx context.Context, method, path, bearer string, body any, want int, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("%s %s: encoding the body: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	if c.team != "" && strings.HasPrefix(path, "/api/") {
		req.Header.Set("X-Team-ID", c.team)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if res.StatusCode != want {
		var apiErr struct {
			ErrorMessage string `json:"error_message"`
		}
		_ = json.Unmarshal(data, &apiErr)
		if apiErr.ErrorMessage == "" {
			apiErr.ErrorMessage = strings.TrimSpace(string(data))
		}
		return fmt.Errorf("%s %s: answered %d, want %d: %s", method, path, res.StatusCode, want, apiErr.ErrorMessage)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: decoding the answer: %w", method, path, err)
		}
	}
	return nil
}
