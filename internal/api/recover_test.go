package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookd/hookd/internal/store"
)

// failDeliveries makes every pending delivery of the store end failed at
// the given times (one time per delivery, oldest delivery first), as the
// engine would after the last attempt.
func (e *env) failDeliveries(t *testing.T, at ...time.Time) {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	res, err := e.st.Lease(ctx, store.LeaseRequest{Owner: "test", Now: now.Add(time.Second), Until: now.Add(time.Hour), Limit: 100})
	if err != nil || len(res.Deliveries) != len(at) {
		t.Fatalf("leased %d (%v), want %d", len(res.Deliveries), err, len(at))
	}
	var outcomes []store.Outcome
	for i, l := range res.Deliveries {
		msg := "HTTP 503"
		outcomes = append(outcomes, store.Outcome{DeliveryID: l.DeliveryID, WebhookID: l.WebhookID, Owner: l.Owner,
			LeaseUntil: l.LeaseUntil, FinishedAt: at[i],
			Attempt: store.Attempt{DeliveryID: l.DeliveryID, AttemptNumber: 1, StartedAt: at[i], Error: &msg}})
	}
	if err := e.st.RecordOutcomes(ctx, outcomes); err != nil {
		t.Fatal(err)
	}
}

func TestRecoverDeliveries(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) store.Store) {
		e := newEnv(t, newStore(t))
		admin := e.as(e.admin, e.teamA)
		hook, _ := e.createWebhook("recover", "https://example.com/recover")
		base := "/api/v1/webhooks/" + hook + "/deliveries"
		for range 3 {
			expect(t, e.do(ingestCaller, "POST", "/internal/v1/task-events", completed(e.teamA, newID())), http.StatusAccepted)
		}
		now := time.Now().UTC()
		e.failDeliveries(t, now.Add(-10*time.Minute), now.Add(-5*time.Minute), now.Add(-time.Minute))
		rfc := func(t time.Time) string { return t.Format(time.RFC3339Nano) }

		// Same permission as redeliver: viewers and members may not.
		body := map[string]any{"since": rfc(now.Add(-7 * time.Minute))}
		expect(t, e.do(e.as(e.viewer, e.teamA), "POST", base+"/recover", body), http.StatusForbidden)
		expect(t, e.do(e.as(e.member, e.teamA), "POST", base+"/recover", body), http.StatusForbidden)

		r := e.do(admin, "POST", base+"/recover", body)
		expect(t, r, http.StatusAccepted)
		if n := r.json(t)["recovered_count"].(float64); n != 2 {
			t.Fatalf("recovered %v, want the 2 failed since 7 minutes ago", n)
		}
		// A window that includes them again recovers only the one left; an
		// integration key acts as admin.
		r = e.do(e.key(e.skKey), "POST", base+"/recover", map[string]any{"since": rfc(now.Add(-time.Hour)), "until": rfc(now)})
		expect(t, r, http.StatusAccepted)
		if n := r.json(t)["recovered_count"].(float64); n != 1 {
			t.Fatalf("second call recovered %v, want 1", n)
		}
		r = e.do(admin, "POST", base+"/recover", map[string]any{"since": rfc(now.Add(-time.Hour))})
		expect(t, r, http.StatusAccepted)
		if n := r.json(t)["recovered_count"].(float64); n != 0 {
			t.Fatalf("third call recovered %v, want 0", n)
		}
		// The redeliveries are created in the background (the engine's job).
		for {
			n, err := e.st.ConvertRecoveries(context.Background(), time.Now(), 100)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
		pending := e.do(admin, "GET", base+"?delivery_status=pending", nil).json(t)
		if n := pending["page_meta"].(map[string]any)["total_count"].(float64); n != 3 {
			t.Fatalf("%v pending redeliveries, want 3", n)
		}

		// Refusals, each naming the field.
		for _, c := range []struct {
			body  any
			field string
		}{
			{map[string]any{"since": rfc(now), "until": rfc(now.Add(-time.Minute))}, "since"},
			{map[string]any{"since": rfc(now.Add(-testRetention - time.Hour))}, "since"},
			{map[string]any{"since": "yesterday"}, "since"},
			{map[string]any{"since": rfc(now.Add(-time.Hour)), "until": "soon"}, "until"},
			{map[string]any{"since": 1700000000}, "since"},
			{map[string]any{"until": rfc(now)}, "since"},
			{map[string]any{"since": rfc(now.Add(-time.Hour)), "limit": 5}, "limit"},
			{`{"since": "` + rfc(now) + `"`, "JSON"},
		} {
			r := e.do(admin, "POST", base+"/recover", c.body)
			expect(t, r, http.StatusBadRequest)
			if msg := r.json(t)["error_message"].(string); !strings.Contains(msg, c.field) {
				t.Errorf("%v: message %q does not name %s", c.body, msg, c.field)
			}
		}
		expect(t, e.do(admin, "POST", base+"/recover", nil), http.StatusBadRequest)
		expect(t, e.do(admin, "POST", base+"/recover", `{"since":"2026-01-01T00:00:00Z"}`, "Content-Type", "text/plain"),
			http.StatusUnsupportedMediaType)
		expect(t, e.do(admin, "POST", "/api/v1/webhooks/not-a-uuid/deliveries/recover", body), http.StatusBadRequest)
		expect(t, e.do(admin, "POST", "/api/v1/webhooks/"+uuid.Must(uuid.NewV7()).String()+"/deliveries/recover", body), http.StatusNotFound)
		expect(t, e.do(e.as(e.adminB, e.teamB), "POST", base+"/recover", body), http.StatusNotFound)

		expect(t, e.do(admin, "PUT", "/api/v1/webhooks/"+hook, map[string]any{"webhook_status": "disabled"}), http.StatusOK)
		expect(t, e.do(admin, "POST", base+"/recover", body), http.StatusConflict)
	})
}
