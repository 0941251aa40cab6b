package demo

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestClientSendsCredentialsAndReportsAPIErrors(t *testing.T) {
	var gotAuth, gotTeam, gotType string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth, gotTeam, gotType = r.Header.Get("Authorization"), r.Header.Get("X-Team-ID"), r.Header.Get("Content-Type")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error_message":"webhook_url: must be https"}`))
	}))
	defer srv.Close()
	c := newClient(srv.URL, "jwt", "team-1", "ingest")
	defer c.close()

	_, err := c.createWebhook(context.Background(), "x", "http://nope", []string{"task.failed"})
	if err == nil || !strings.Contains(err.Error(), "answered 400, want 201: webhook_url: must be https") {
		t.Errorf("createWebhook error = %v", err)
	}
	if gotAuth != "Bearer jwt" || gotTeam != "team-1" || gotType != "application/json" {
		t.Errorf("management request headers: %q %q %q", gotAuth, gotTeam, gotType)
	}

	_, err = c.ingest(context.Background(), taskEvent{TaskStatus: "failed"})
	if err == nil || !strings.Contains(err.Error(), "/internal/v1/task-events") {
		t.Errorf("ingest error = %v", err)
	}
	if gotAuth != "Bearer ingest" || gotTeam != "" {
		t.Errorf("ingest request headers: %q %q (X-Team-ID belongs to the management API only)", gotAuth, gotTeam)
	}
}

func TestWaitForDeliveriesExplainsWhatIsPending(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"delivery_list":[{"id":"d-7","delivery_status":"pending","attempt_count":2,"last_error":"HTTP 503"}],"page_meta":{"total_count":1}}`))
	}))
	defer srv.Close()
	c := newClient(srv.URL, "jwt", "team-1", "ingest")
	defer c.close()
	eps := []*endpoint{{name: "flaky", hook: webhookDetail{ID: "w-1"}}}

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := waitForDeliveries(ctx, c, eps, 1, 20*time.Millisecond)
	want := `webhook "flaky" delivery d-7 still pending after 2 attempts (last error: HTTP 503)`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error = %v, want it to contain %q", err, want)
	}
}

func TestWaitForDeliveriesReturnsFinishedLogs(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/webhooks/w-1/deliveries") {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(`{"delivery_list":[{"id":"d-1","delivery_status":"failed","attempt_count":4}],"page_meta":{"total_count":1}}`))
	}))
	defer srv.Close()
	c := newClient(srv.URL, "jwt", "team-1", "ingest")
	defer c.close()
	eps := []*endpoint{{name: "a", hook: webhookDetail{ID: "w-1"}}}
	logs, err := waitForDeliveries(context.Background(), c, eps, 1, time.Millisecond)
	if err != nil || len(logs[eps[0]]) != 1 || logs[eps[0]][0].DeliveryStatus != "failed" {
		t.Errorf("logs = %v, err = %v", logs, err)
	}
}
