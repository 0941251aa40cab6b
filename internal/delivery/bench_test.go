package delivery

import (
	"net/http"
	"testing"

	"github.com/google/uuid"

	"github.com/hookd/hookd/internal/store"
	"github.com/hookd/hookd/webhooksig"
)

var benchBody = []byte(`{"event_type":"task.completed","task_id":"019c65a0-aaaa-7bbb-cccc-dddddddddddd","task_status":"completed","task_output":{"storage_key":"tasks/019c65a0-aaaa-7bbb-cccc-dddddddddddd/output.png","image_count":1},"task_error":"","timestamp":"2026-02-16T09:00:00Z"}`)

func TestSetHeaders(t *testing.T) {
	d := &store.LeasedDelivery{DeliveryID: uuid.New(), EventID: uuid.New(), EventType: "task.completed", Body: benchBody}
	h := http.Header{}
	setHeaders(h, d, "whsec_a1b2c3d4e5f6g7h8i9j0", []string{"hookd/1"})
	want := map[string]string{
		"Content-Type":            "application/json",
		"User-Agent":              "hookd/1",
		"X-Webhook-Signature-256": "sha256=813316105b145e7293937c3a2bc1d398a166f47c569b7c0cd9fd76b04b03ac4c", // SPEC §5 vector
		"X-Webhook-Event":         "task.completed",
		"X-Webhook-Delivery":      d.DeliveryID.String(),
		"X-Webhook-Event-ID":      d.EventID.String(), // the spec's spelling, not Go's canonical one
	}
	if len(h) != len(want) {
		t.Fatalf("%d headers, want %d: %v", len(h), len(want), h)
	}
	for k, v := range want {
		if got := h[k]; len(got) != 1 || got[0] != v {
			t.Errorf("%s = %v, want %q", k, got, v)
		}
	}
}

func BenchmarkSetHeaders(b *testing.B) {
	b.ReportAllocs()
	d := &store.LeasedDelivery{DeliveryID: uuid.New(), EventID: uuid.New(), EventType: "task.completed", Body: benchBody}
	ua := []string{"hookd/1"}
	h := make(http.Header, 8)
	for b.Loop() {
		setHeaders(h, d, "whsec_a1b2c3d4e5f6g7h8i9j0", ua)
	}
}

// The signature alone, for comparison with BenchmarkSetHeaders.
func BenchmarkAppendSign(b *testing.B) {
	b.ReportAllocs()
	buf := make([]byte, 0, 71)
	for b.Loop() {
		buf = webhooksig.AppendSign(buf[:0], "whsec_a1b2c3d4e5f6g7h8i9j0", benchBody)
	}
}

func TestAppendUUIDMatchesString(t *testing.T) {
	for range 100 {
		id := uuid.New()
		if got := string(appendUUID([]byte("x"), id)); got != "x"+id.String() {
			t.Fatalf("appendUUID = %q, want %q", got, "x"+id.String())
		}
	}
}
