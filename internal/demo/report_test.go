package demo

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/hookd/hookd/webhooksig"
)

func signedRequest(seq int, path, secret string, body []byte) receivedRequest {
	h := http.Header{}
	h.Set(webhooksig.Header, webhooksig.Sign(secret, body))
	h.Set("X-Webhook-Delivery", "d-1")
	return receivedRequest{seq: seq, method: "POST", path: path, header: h, body: body, answered: 200}
}

func TestRequestsVerifiesEachSignature(t *testing.T) {
	eps := []*endpoint{{path: "/a", hook: webhookDetail{DisplayName: "a", WebhookSecret: "whsec_right"}}}
	body := []byte(`{"event_type":"task.completed"}`)
	tampered := signedRequest(3, "/a", "whsec_right", body)
	tampered.body = []byte(`{"event_type":"task.failed"}`)
	unsigned := signedRequest(4, "/a", "whsec_right", body)
	unsigned.header.Del(webhooksig.Header)
	seen := []receivedRequest{
		signedRequest(1, "/a", "whsec_right", body),
		signedRequest(2, "/a", "whsec_wrong", body),
		tampered,
		unsigned,
		signedRequest(5, "/elsewhere", "whsec_right", body),
	}
	var out bytes.Buffer
	verified, invalid := (&report{w: &out}).requests(seen, eps)
	if verified != 1 || invalid != 4 {
		t.Errorf("verified %d, invalid %d; want 1 and 4:\n%s", verified, invalid, out.String())
	}
	if n := strings.Count(out.String(), "signature: INVALID"); n != 4 {
		t.Errorf("%d INVALID lines, want 4:\n%s", n, out.String())
	}
	for _, want := range []string{"does not match", "missing", "no webhook is registered at /elsewhere", "(missing)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestCompareBody(t *testing.T) {
	d := deliveryDetail{deliverySummary: deliverySummary{ID: "d-1", AttemptCount: 2}, RequestBody: `{"a":1}`, Attempts: make([]attemptView, 2)}
	same := signedRequest(1, "/a", "s", []byte(`{"a":1}`))
	other := signedRequest(2, "/a", "s", []byte(`{"a":2}`))
	if got := compareBody(d, []receivedRequest{same, same}); got != "7 bytes, the same as the receiver got (2 requests)" {
		t.Errorf("same bodies: %q", got)
	}
	if got := compareBody(d, []receivedRequest{same, same, same}); !strings.Contains(got, "MISMATCH: the log shows attempt_count 2 and 2 attempt rows") {
		t.Errorf("more requests than logged attempts: %q", got)
	}
	if got := compareBody(d, []receivedRequest{same, other}); !strings.Contains(got, "DIFFERENT") || !strings.Contains(got, "#2") {
		t.Errorf("a different body: %q", got)
	}
	if got := compareBody(d, nil); !strings.Contains(got, "no request") {
		t.Errorf("no request: %q", got)
	}
}

func TestShorten(t *testing.T) {
	if got := shorten("", 5); got != "-" {
		t.Errorf("empty: %q", got)
	}
	if got := shorten("héllo world", 5); got != `"héllo…"` {
		t.Errorf("cut: %q", got)
	}
	if got := shorten("ok", 5); got != `"ok"` {
		t.Errorf("short: %q", got)
	}
}
