package delivery

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/hookd/hookd/internal/store"
	"github.com/hookd/hookd/webhooksig"
)

// Header names of SPEC §5, written exactly as spelled there (Go would send a
// canonicalised "X-Webhook-Event-Id"; HTTP/1.1 receivers see the spec's
// spelling, and header names are case-insensitive anyway).
const (
	headerContentType = "Content-Type"
	headerUserAgent   = "User-Agent"
	headerSignature   = webhooksig.Header
	headerEvent       = "X-Webhook-Event"
	headerDelivery    = "X-Webhook-Delivery"
	headerEventID     = "X-Webhook-Event-ID"
)

// contentTypeJSON is shared by every request; the transport only reads it.
var contentTypeJSON = []string{"application/json"}

// responseBuffers recycles the 4 KiB buffers responses are read into.
var responseBuffers = sync.Pool{New: func() any { return new([maxResponseBody]byte) }}

// setHeaders writes the delivery headers of SPEC §5 into h: one HMAC over the
// stored body, no fmt. The three per-request values share one string and the
// four value slices one array, so a request costs two allocations beyond the
// HMAC's own. The keys are assigned directly to keep the spec's spelling.
func setHeaders(h http.Header, d *store.LeasedDelivery, secret string, userAgent []string) {
	const sigLen, idLen = len("sha256=") + 64, 36
	var buf [sigLen + 2*idLen]byte
	b := webhooksig.AppendSign(buf[:0], secret, d.Body)
	b = appendUUID(b, d.DeliveryID)
	b = appendUUID(b, d.EventID)
	all := string(b)
	vals := make([]string, 4)
	vals[0], vals[1], vals[2], vals[3] = all[:sigLen], d.EventType, all[sigLen:sigLen+idLen], all[sigLen+idLen:]
	h[headerContentType] = contentTypeJSON
	h[headerUserAgent] = userAgent
	h[headerSignature] = vals[0:1:1]
	h[headerEvent] = vals[1:2:2]
	h[headerDelivery] = vals[2:3:3]
	h[headerEventID] = vals[3:4:4]
}

// appendUUID appends id in its canonical 36-character form.
func appendUUID(dst []byte, id uuid.UUID) []byte {
	var s [36]byte
	hex.Encode(s[0:8], id[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], id[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], id[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], id[8:10])
	s[23] = '-'
	hex.Encode(s[24:], id[10:])
	return append(dst, s[:]...)
}

// send makes one attempt of d, hands its outcome to the writer and frees the
// slot (the slot counts attempts in flight, not outcomes being written).
func (e *Engine) send(d store.LeasedDelivery) {
	defer e.senders.Done()
	e.metrics.inFlight.Inc()
	out := e.attempt(&d)
	e.metrics.inFlight.Dec()
	if e.combined != nil {
		// The dispatcher records the outcome and refills the slot in one
		// round: free the slot first, so that round finds it free.
		e.lanes.release(d.WebhookID)
		e.outcomes <- finished{outcome: out, leaseUntil: d.LeaseUntil}
		e.signal()
		return
	}
	e.outcomes <- finished{outcome: out, leaseUntil: d.LeaseUntil}
	e.lanes.release(d.WebhookID)
}

// attemptResult is what one POST came to.
type attemptResult struct {
	status *int
	class  string
	err    *string
	body   string
}

func (e *Engine) attempt(d *store.LeasedDelivery) store.Outcome {
	started := e.now()
	if d.AttemptCount == 0 && d.DeliveryID.Version() == 7 {
		sec, nsec := d.DeliveryID.Time().UnixTime()
		e.metrics.firstAttempt.Observe(started.Sub(time.Unix(sec, nsec)).Seconds())
	}
	ctx, cancel := context.WithTimeout(e.attemptCtx, e.cfg.Timeout)
	res := e.post(ctx, d)
	cancel()
	finished := e.now()
	duration := finished.Sub(started)
	e.metrics.attempts.WithLabelValues(res.class).Inc()
	e.metrics.duration.Observe(duration.Seconds())
	if res.err != nil {
		e.log.Debug("delivery attempt failed", "delivery_id", d.DeliveryID, "webhook_id", d.WebhookID,
			"attempt", d.AttemptCount+1, "error", *res.err)
	}
	return store.Outcome{
		DeliveryID: d.DeliveryID,
		WebhookID:  d.WebhookID,
		Owner:      e.cfg.Owner,
		Attempt: store.Attempt{
			DeliveryID:    d.DeliveryID,
			AttemptNumber: d.AttemptCount + 1,
			StartedAt:     started,
			DurationMS:    duration.Milliseconds(),
			StatusCode:    res.status,
			Error:         res.err,
			ResponseBody:  res.body,
		},
		Succeeded:  res.class == classSucceeded,
		FinishedAt: finished,
	}
}

func failed(class, text string) attemptResult {
	return attemptResult{class: class, err: &text}
}

// post sends d and reads at most maxResponseBody bytes of the answer, all
// within ctx. Only a 2xx whose body was read in time is a success.
func (e *Engine) post(ctx context.Context, d *store.LeasedDelivery) attemptResult {
	secret, err := e.secrets.get(d.SecretEnc)
	if err != nil {
		// Wrong master key or a damaged row: never send unsigned.
		return failed(classOther, "webhook secret could not be decrypted")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(d.Body))
	if err != nil {
		return failed(classOther, "invalid webhook URL")
	}
	setHeaders(req.Header, d, secret, e.userAgent)

	resp, err := e.cfg.Client.Do(req)
	if err != nil {
		return failed(describeError(err, e.cfg.Timeout))
	}
	defer resp.Body.Close()
	status := resp.StatusCode
	res := attemptResult{status: &status, class: classSucceeded}

	buf := responseBuffers.Get().(*[maxResponseBody]byte)
	defer responseBuffers.Put(buf)
	n, readErr := readUpTo(resp.Body, buf[:])
	if readErr == nil && ctx.Err() != nil {
		// The transport may report a body cut by the deadline as a clean
		// end (io.EOF); past the deadline, the answer did not come in time.
		readErr = ctx.Err()
	}
	truncated := n == len(buf)
	res.body = responseText(buf[:n], truncated)
	if truncated {
		// Drain a little so a slightly larger answer keeps the connection
		// for the next attempt; a large one is cut by Close.
		_, _ = io.CopyN(io.Discard, resp.Body, maxResponseBody)
	}

	switch {
	case status < 200 || status > 299:
		class, text := describeStatus(status)
		res.class, res.err = class, &text
	case readErr != nil:
		// A 2xx is not a success until its body arrived within the timeout.
		class, text := describeError(readErr, e.cfg.Timeout)
		res.class, res.err = class, &text
	}
	return res
}

// readUpTo fills buf from r until r ends or buf is full. Unlike
// io.ReadFull, a body cut short by the connection (io.ErrUnexpectedEOF from
// the HTTP body reader) is an error, not a normal end.
func readUpTo(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
