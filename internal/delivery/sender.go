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

// sender makes attempts: it signs the stored body with the webhook's
// current secret, POSTs it through the shared client, reads at most
// maxResponseBody bytes of the answer and classifies the result. It knows
// nothing of leases or the store; the engine holds one and runs it.
type sender struct {
	client    *http.Client
	secrets   *secretCache
	userAgent []string
	timeout   time.Duration
	now       func() time.Time
}

// attemptResult is what one POST came to.
type attemptResult struct {
	status     *int
	class      string
	err        *string
	body       string
	retryAfter time.Duration // the receiver's Retry-After on a failed answer, 0 if none
}

// attempt makes one attempt of d within ctx (bounded by the timeout) and
// returns its outcome, not yet scheduled (NextAttemptAt is the completer's).
func (s *sender) attempt(ctx context.Context, d *store.LeasedDelivery) (store.Outcome, attemptResult) {
	started := s.now()
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	res := s.post(ctx, d)
	cancel()
	finished := s.now()
	duration := finished.Sub(started)
	return store.Outcome{
		DeliveryID: d.DeliveryID,
		WebhookID:  d.WebhookID,
		Owner:      d.Owner,
		LeaseUntil: d.LeaseUntil,
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
	}, res
}

func failed(class, text string) attemptResult {
	return attemptResult{class: class, err: &text}
}

// post sends d and reads at most maxResponseBody bytes of the answer, all
// within ctx. Only a 2xx whose body was read in time is a success.
func (s *sender) post(ctx context.Context, d *store.LeasedDelivery) attemptResult {
	secret, err := s.secrets.get(d.SecretEnc)
	if err != nil {
		// Wrong master key or a damaged row: never send unsigned.
		return failed(classOther, "webhook secret could not be decrypted")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(d.Body))
	if err != nil {
		return failed(classOther, "invalid webhook URL")
	}
	setHeaders(req.Header, d, secret, s.userAgent)

	resp, err := s.client.Do(req)
	if err != nil {
		return failed(describeError(err, s.timeout))
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
		res.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), s.now())
	case readErr != nil:
		// A 2xx is not a success until its body arrived within the timeout.
		class, text := describeError(readErr, s.timeout)
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
