package demo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/hookd/hookd/webhooksig"
)

// shownHeaders are the request headers printed for every delivery, spelled
// as SPEC §5 spells them (lookups are case-insensitive).
var shownHeaders = []string{
	"Content-Type", "User-Agent", "X-Webhook-Event", "X-Webhook-Delivery", "X-Webhook-Event-ID", webhooksig.Header,
}

// report prints the demo's human-readable output: short sections, aligned
// columns, no colours. Write errors are ignored: there is nobody to tell.
type report struct {
	w io.Writer
}

func (r *report) heading(title string) {
	fmt.Fprintf(r.w, "\n%s\n%s\n", title, strings.Repeat("-", utf8.RuneCountInString(title)))
}

// table returns an aligned writer; call Flush when the block is done.
func (r *report) table() *tabwriter.Writer { return tabwriter.NewWriter(r.w, 0, 0, 2, ' ', 0) }

func (r *report) setup(dir string, keep bool, rcv *receiver, base string, who identity, args []string) {
	fmt.Fprintln(r.w, "hookd demo: the whole webhook loop in one process, on a temporary store")
	r.heading("Setup")
	fate := "removed at the end (--keep keeps it)"
	if keep {
		fate = "kept (--keep)"
	}
	t := r.table()
	fmt.Fprintf(t, "  temporary directory\t%s, %s\n", dir, fate)
	fmt.Fprintf(t, "  receiver\t%s (HTTPS; its certificate comes from a CA made for this run, %s)\n", rcv.base, caFileName)
	fmt.Fprintf(t, "  hookd\t%s, as if run with:\n", base)
	fmt.Fprintf(t, "  \t  hookd serve %s\n", strings.Join(args, " "))
	fmt.Fprintf(t, "  network policy\tloopback is refused by default; --allow-cidr 127.0.0.0/8 permits the receiver\n")
	fmt.Fprintf(t, "  retry schedule\t%s, shortened for the demo (the default is 0s,5s,30s,2m)\n", RetrySchedule)
	fmt.Fprintf(t, "  team\t%s %q, created in the store as `hookd team create` does\n", who.teamID, who.teamName)
	fmt.Fprintf(t, "  user\t%s, admin of the team; calls the API with an HS256 JWT as `hookd token` makes\n", who.userID)
	t.Flush()
}

func (r *report) webhooks(endpoints []*endpoint) {
	r.heading("Webhooks (POST /api/v1/webhooks; secrets read back with GET /api/v1/webhooks/{id})")
	t := r.table()
	fmt.Fprintf(t, "  NAME\tID\tURL\tEVENTS\tTHE RECEIVER\n")
	for _, ep := range endpoints {
		fmt.Fprintf(t, "  %s\t%s\t%s\t%s\t%s\n", ep.hook.DisplayName, ep.hook.ID, ep.hook.WebhookURL,
			strings.Join(ep.hook.WebhookEvents, ","), ep.behaviour)
	}
	t.Flush()
}

func (r *report) ingested(events []taskEvent, answers []ingestAnswer) {
	r.heading("Task events (POST /internal/v1/task-events with the ingest token)")
	for i, ev := range events {
		body, _ := marshalCompact(ev)
		fmt.Fprintf(r.w, "  %s\n", body)
		fmt.Fprintf(r.w, "    -> 202, event_id %s, delivery_count %d\n", answers[i].EventID, answers[i].DeliveryCount)
	}
}

func (r *report) waited(n int, took time.Duration) {
	fmt.Fprintf(r.w, "\nAll %d deliveries finished after %.1fs.\n", n, took.Seconds())
}

// requests prints every request the receiver saw and checks its signature
// against the secret of the webhook registered at its path.
func (r *report) requests(seen []receivedRequest, endpoints []*endpoint) (verified, invalid int) {
	r.heading(fmt.Sprintf("What the receiver saw (%d requests, in arrival order; times from the first ingest)", len(seen)))
	for _, req := range seen {
		ep := endpointAt(endpoints, req.path)
		name := "no webhook"
		if ep != nil {
			name = fmt.Sprintf("webhook %q", ep.hook.DisplayName)
		}
		fmt.Fprintf(r.w, "\n  #%d  +%.3fs  %s %s (%s), answered %d\n", req.seq, req.at.Seconds(), req.method, req.path, name, req.answered)
		t := r.table()
		for _, h := range shownHeaders {
			v := req.header.Get(h)
			if v == "" {
				v = "(missing)"
			}
			fmt.Fprintf(t, "    %s\t%s\n", h, v)
		}
		fmt.Fprintf(t, "    body\t%s\n", req.body)
		t.Flush()
		if err := verify(ep, req); err != nil {
			invalid++
			fmt.Fprintf(r.w, "    signature: INVALID (%v)\n", err)
			continue
		}
		verified++
		fmt.Fprintf(r.w, "    signature: verified (HMAC-SHA256 of the raw body with the webhook's secret)\n")
	}
	return verified, invalid
}

func endpointAt(endpoints []*endpoint, path string) *endpoint {
	for _, ep := range endpoints {
		if ep.path == path {
			return ep
		}
	}
	return nil
}

// verify checks a request's signature as a receiver would: over the raw
// body, with the secret of the webhook it was sent for.
func verify(ep *endpoint, req receivedRequest) error {
	if ep == nil {
		return fmt.Errorf("no webhook is registered at %s", req.path)
	}
	return webhooksig.Verify(ep.hook.WebhookSecret, req.body, req.header.Get(webhooksig.Header))
}

// deliveryLog prints one webhook's deliveries and their attempts as the API
// reports them, and whether request_body is the body the receiver saw.
func (r *report) deliveryLog(ep *endpoint, details []deliveryDetail, seen []receivedRequest) {
	r.heading(fmt.Sprintf("Delivery log of %q", ep.hook.DisplayName))
	fmt.Fprintf(r.w, "  GET /api/v1/webhooks/%s/deliveries, then GET .../deliveries/{id} for the attempts\n", ep.hook.ID)
	for _, d := range details {
		fmt.Fprintf(r.w, "\n  delivery %s  %s  task %s\n", d.ID, d.EventType, d.TaskID)
		completed := "-"
		if d.CompletedAt != nil {
			completed = *d.CompletedAt
		}
		fmt.Fprintf(r.w, "    delivery_status %s, attempt_count %d, created_at %s, completed_at %s\n",
			d.DeliveryStatus, d.AttemptCount, d.CreatedAt, completed)
		fmt.Fprintf(r.w, "    request_body: %s\n", compareBody(d, seen))
		t := r.table()
		fmt.Fprintf(t, "    ATTEMPT\tSTARTED\tSTATUS\tDURATION\tERROR\tRESPONSE BODY\n")
		for _, a := range d.Attempts {
			fmt.Fprintf(t, "    %d\t%s\t%s\t%d ms\t%s\t%s\n", a.AttemptNumber, a.StartedAt, optionalInt(a.StatusCode),
				a.DurationMS, optionalString(a.Error), shorten(a.ResponseBody, 60))
		}
		t.Flush()
	}
}

// compareBody says whether the logged request body is what the receiver got
// for this delivery (on every attempt).
func compareBody(d deliveryDetail, seen []receivedRequest) string {
	n := 0
	for _, req := range seen {
		if req.header.Get("X-Webhook-Delivery") != d.ID {
			continue
		}
		if !bytes.Equal(req.body, []byte(d.RequestBody)) {
			return fmt.Sprintf("DIFFERENT from what the receiver got in request #%d", req.seq)
		}
		n++
	}
	if n == 0 {
		return "the receiver saw no request for this delivery"
	}
	s := fmt.Sprintf("%d bytes, the same as the receiver got (%d %s)", len(d.RequestBody), n, plural(n, "request", "requests"))
	if n != d.AttemptCount || n != len(d.Attempts) {
		// Without a crash every request is one logged attempt; anything else is worth seeing.
		s += fmt.Sprintf("; MISMATCH: the log shows attempt_count %d and %d attempt rows", d.AttemptCount, len(d.Attempts))
	}
	return s
}

func (r *report) summary(deliveries, requests, verified, invalid int, stopErr error) {
	r.heading("Summary")
	fmt.Fprintf(r.w, "  %d deliveries, %d requests, %d signatures verified, %d invalid.\n", deliveries, requests, verified, invalid)
	if stopErr != nil {
		fmt.Fprintf(r.w, "  hookd did not stop cleanly: %v\n", stopErr)
		return
	}
	fmt.Fprintln(r.w, "  hookd stopped cleanly.")
	fmt.Fprintln(r.w, "  Next: the README's quickstart does the same by hand, with `hookd serve` and curl.")
}

func (r *report) kept(dir string) {
	fmt.Fprintf(r.w, "  Kept %s (hookd.db, master.key, jwt-secret, %s).\n", dir, caFileName)
	fmt.Fprintf(r.w, "  Look around with: hookd serve --data-dir %s\n", dir)
}

func optionalInt(p *int) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprint(*p)
}

func optionalString(p *string) string {
	if p == nil || *p == "" {
		return "-"
	}
	return *p
}

// shorten quotes s, cut to at most n runes.
func shorten(s string, n int) string {
	if s == "" {
		return "-"
	}
	if utf8.RuneCountInString(s) > n {
		s = string([]rune(s)[:n]) + "…"
	}
	return fmt.Sprintf("%q", s)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// marshalCompact encodes v as compact JSON, leaving <, > and & as they are.
func marshalCompact(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
