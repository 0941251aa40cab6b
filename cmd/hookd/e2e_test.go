package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd/webhooksig"
)

const e2eIngestToken = "e2e-ingest-token"

// freshSchemaURL creates a schema for one test and returns a URL whose
// search_path selects it.
func freshSchemaURL(t *testing.T) string {
	base := os.Getenv("HOOKD_TEST_DATABASE_URL")
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "e2e_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(context.Background(), base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err == nil {
			_, _ = c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			c.Close(context.Background())
		}
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}

// bootstrap creates a team, an admin user and a token with the command line.
func bootstrap(t *testing.T, storeArgs []string) (team, token string) {
	team = admin(t, storeArgs, "team", "create", "--name", "Acme", "--init")["id"]
	user := "019abc12-3456-7890-abcd-ef1234567890"
	m := admin(t, storeArgs, "member", "add", "--team", team, "--user", user, "--role", "admin")
	if m["role"] != "admin" || m["team_id"] != team || m["user_id"] != user {
		t.Fatalf("member add printed %v", m)
	}
	token = admin(t, storeArgs, "token", "--user", user)["token"]
	return team, token
}

func serveArgs(storeArgs []string, rcv *receiver, extra ...string) []string {
	args := append([]string{}, storeArgs...)
	args = append(args, "--ingest-token", e2eIngestToken, "--allow-cidr", "127.0.0.0/8", "--ca-file", rcv.caFile)
	return append(args, extra...)
}

// TestServeEndToEnd drives a real `hookd serve` over HTTP as a client of the
// original API would: bootstrap with the command line, register a webhook,
// ingest events, receive signed deliveries, read the delivery log.
func TestServeEndToEnd(t *testing.T) {
	for _, sc := range storeConfigs(t) {
		t.Run(sc.name, func(t *testing.T) {
			storeArgs := sc.resolve(t)
			team, token := bootstrap(t, storeArgs)
			rcv := newReceiver(t)
			h := startHookd(t, serveArgs(storeArgs, rcv, "--retry-schedule", "0s,50ms")...)

			code, created := call(t, "POST", h.base+"/api/v1/webhooks", token, team, map[string]any{
				"display_name": "receiver", "webhook_url": rcv.url("/hook"), "webhook_events": []string{"task.completed", "task.failed"}})
			if code != http.StatusCreated {
				t.Fatalf("create webhook: %d %v", code, created)
			}
			hookID := created["id"].(string)
			_, detail := call(t, "GET", h.base+"/api/v1/webhooks/"+hookID, token, team, nil)
			secret := detail["webhook_secret"].(string)
			rcv.mu.Lock()
			rcv.secret = secret
			rcv.mu.Unlock()

			task := "019c65a0-aaaa-7bbb-cccc-dddddddddddd"
			code, res := call(t, "POST", h.base+"/internal/v1/task-events", e2eIngestToken, "", map[string]any{
				"team_id": team, "task_id": task, "task_status": "completed",
				"task_output": json.RawMessage(`{"storage_key": "tasks/019c65a0-aaaa-7bbb-cccc-dddddddddddd/output.png", "image_count": 1}`),
				"task_error":  "", "timestamp": "2026-02-16T10:00:00+01:00"})
			if code != http.StatusAccepted || res["delivery_count"].(float64) != 1 {
				t.Fatalf("ingest: %d %v", code, res)
			}
			waitFor(t, "the delivery", 10*time.Second, func() bool { return rcv.unique() == 1 })

			rcv.mu.Lock()
			got := rcv.got[0]
			bad := rcv.badSigs
			rcv.mu.Unlock()
			want := `{"event_type":"task.completed","task_id":"019c65a0-aaaa-7bbb-cccc-dddddddddddd","task_status":"completed","task_output":{"storage_key":"tasks/019c65a0-aaaa-7bbb-cccc-dddddddddddd/output.png","image_count":1},"task_error":"","timestamp":"2026-02-16T09:00:00Z"}`
			if string(got.body) != want {
				t.Fatalf("body\n got %s\nwant %s", got.body, want)
			}
			if bad != 0 || got.header.Get(webhooksig.Header) != webhooksig.Sign(secret, got.body) {
				t.Fatalf("signature does not verify with the secret from GET")
			}
			for k, v := range map[string]string{"Content-Type": "application/json", "X-Webhook-Event": "task.completed",
				"X-Webhook-Event-Id": res["event_id"].(string)} {
				if got.header.Get(k) != v {
					t.Errorf("%s = %q, want %q", k, got.header.Get(k), v)
				}
			}
			if !strings.HasPrefix(got.header.Get("User-Agent"), "hookd/") || got.header.Get("X-Webhook-Delivery") == "" {
				t.Errorf("headers: %v", got.header)
			}

			// The log shows the success, and the webhook its last delivery.
			waitFor(t, "succeeded in the log", 5*time.Second, func() bool {
				_, l := call(t, "GET", h.base+"/api/v1/webhooks/"+hookID+"/deliveries?delivery_status=succeeded", token, team, nil)
				return l["page_meta"].(map[string]any)["total_count"].(float64) == 1
			})
			_, detail = call(t, "GET", h.base+"/api/v1/webhooks/"+hookID, token, team, nil)
			if detail["last_delivered_at"] == nil {
				t.Fatal("last_delivered_at not set after a success")
			}

			// A failing endpoint: 1 + len(schedule) = 3 attempts, then failed.
			rcv.mu.Lock()
			rcv.status = http.StatusInternalServerError
			rcv.mu.Unlock()
			code, res = call(t, "POST", h.base+"/internal/v1/task-events", e2eIngestToken, "", map[string]any{
				"team_id": team, "task_id": "019c65a0-aaaa-7bbb-cccc-eeeeeeeeeeee", "task_status": "failed", "task_error": "timeout"})
			if code != http.StatusAccepted {
				t.Fatalf("ingest failed event: %d %v", code, res)
			}
			var failedID string
			waitFor(t, "the failed delivery", 10*time.Second, func() bool {
				_, l := call(t, "GET", h.base+"/api/v1/webhooks/"+hookID+"/deliveries?delivery_status=failed", token, team, nil)
				list := l["delivery_list"].([]any)
				if len(list) == 1 {
					failedID = list[0].(map[string]any)["id"].(string)
				}
				return len(list) == 1
			})
			_, d := call(t, "GET", h.base+"/api/v1/webhooks/"+hookID+"/deliveries/"+failedID, token, team, nil)
			attempts := d["attempts"].([]any)
			if len(attempts) != 3 || d["attempt_count"].(float64) != 3 || d["last_status_code"].(float64) != 500 {
				t.Fatalf("failed delivery detail: %v", d)
			}

			// Redeliver after the endpoint recovers.
			rcv.mu.Lock()
			rcv.status = 0
			rcv.mu.Unlock()
			code, rd := call(t, "POST", h.base+"/api/v1/webhooks/"+hookID+"/deliveries/"+failedID+"/redeliver", token, team, nil)
			if code != http.StatusAccepted {
				t.Fatalf("redeliver: %d %v", code, rd)
			}
			waitFor(t, "the redelivery", 10*time.Second, func() bool {
				_, d := call(t, "GET", h.base+"/api/v1/webhooks/"+hookID+"/deliveries/"+rd["id"].(string), token, team, nil)
				return d["delivery_status"] == "succeeded"
			})

			// Prometheus metrics, no credential needed.
			mres, err := http.Get(h.base + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			metrics, _ := io.ReadAll(mres.Body)
			mres.Body.Close()
			if mres.StatusCode != 200 || !strings.Contains(string(metrics), "hookd_delivery_attempts_total") ||
				!strings.Contains(string(metrics), "go_goroutines") {
				t.Fatalf("/metrics: %d\n%.300s", mres.StatusCode, metrics)
			}

			if err := h.stop(); err != nil {
				t.Fatalf("SIGTERM/SIGINT must exit 0: %v", err)
			}
			// Secrets, raw keys and tokens never appear in logs, even at debug.
			logs := h.logText()
			if !strings.Contains(logs, "delivery attempt failed") {
				t.Fatalf("debug logs were not captured:\n%s", logs)
			}
			hidden := []string{secret, strings.TrimPrefix(secret, "whsec_"), token, e2eIngestToken}
			for i := 1; i < len(storeArgs); i++ {
				if storeArgs[i-1] == "--master-key" || storeArgs[i-1] == "--jwt-secret" {
					hidden = append(hidden, storeArgs[i])
				}
			}
			for _, s := range hidden {
				if strings.Contains(logs, s) {
					t.Fatalf("a secret or token appears in the logs:\n%s", logs)
				}
			}
		})
	}
}
