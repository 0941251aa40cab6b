package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/hookd/hookd/internal/payload"
	"github.com/hookd/hookd/webhooksig"
)

// warmupPosts is how many unmeasured POSTs precede a ceiling measurement:
// the first run in a process (fresh heap, cold caches, new connections) is
// 10–15 % slower than the next.
func warmupPosts(events int) int64 {
	return int64(min(events, max(events/5, 2000)))
}

// runCeiling sends Events plain signed POSTs (hookd's body shape and
// headers, a fresh delivery id each) with clients clients to the same
// receiver, over one shared transport configured like hookd's, after an
// unmeasured warm-up with the same clients.
func (env *environment) runCeiling(ctx context.Context, clients int) (Result, error) {
	client, err := env.plainClient(clients)
	if err != nil {
		return Result{}, err
	}
	defer client.CloseIdleConnections()
	warm := warmupPosts(env.opts.Events)
	if _, _, err := env.postMany(ctx, client, "/ceiling-warmup", warm, clients, "ceiling warm-up"); err != nil {
		return Result{}, fmt.Errorf("warm-up: %w", err)
	}
	total := int64(env.opts.Events)
	ep, start, err := env.postMany(ctx, client, "/ceiling", total, clients, fmt.Sprintf("ceiling (%d clients)", clients))
	if err != nil {
		return Result{}, err
	}
	secs := time.Unix(0, ep.lastNew.Load()).Sub(start).Seconds()
	return Result{Deliveries: total, Seconds: secs, PerSecond: float64(total) / secs, Clients: clients,
		Detail: fmt.Sprintf("plain signed POSTs, %d clients, no hookd; after %d unmeasured", clients, warm)}, nil
}

// postMany sends total signed POSTs to a new endpoint at path from clients
// goroutines, checks that the receiver counted each once, and returns the
// endpoint and when the first POST started.
func (env *environment) postMany(ctx context.Context, client *http.Client, path string, total int64, clients int,
	label string) (ep *endpoint, start time.Time, err error) {
	ep = env.rcv.addEndpoint(path)
	secret, err := randomHex("whsec_", 24)
	if err != nil {
		return nil, start, err
	}
	ep.setSecret(secret)
	prog := startProgress(env.opts.Progress, label, total, ep.unique.Load)
	defer prog.end()
	var next atomic.Int64
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	start = time.Now()
	var wg sync.WaitGroup
	for range max(clients, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && next.Add(1) <= total {
				if err := postSigned(ctx, client, env.rcv.url(ep), secret); err != nil {
					cancel(err)
				}
			}
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, start, err
	}
	if got := ep.unique.Load(); got != total {
		return nil, start, fmt.Errorf("the receiver counted %d unique deliveries of %d", got, total)
	}
	return ep, start, nil
}

// plainClient is a Go client with hookd's transport settings (keep-alive,
// HTTP/2 when the receiver offers it, the receiver's CA) and at most one
// connection per client, all kept idle between requests, so it never
// reconnects (without the bound, a request that finds no idle connection
// dials one more, and the surplus is closed later). It speaks HTTP/1.1, as
// hookd sends deliveries, whatever the receiver offers.
func (env *environment) plainClient(clients int) (*http.Client, error) {
	pem, err := os.ReadFile(env.rcv.caFile)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		// HTTP/1.1, as hookd sends deliveries (internal/netguard).
		TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{},
		TLSClientConfig:     &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost: max(clients, 1),
		MaxConnsPerHost:     max(clients, 1),
	}}, nil
}

// postSigned makes one delivery as hookd would: rendered body, signature,
// the id headers, response read and closed.
func postSigned(ctx context.Context, client *http.Client, url, secret string) error {
	task, event, del := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	body, err := payload.Render("task.completed", task, "completed",
		[]byte(`{"storage_key":"tasks/`+task.String()+`/output.png","image_count":1}`), "", time.Now())
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(webhooksig.Header, webhooksig.Sign(secret, body))
	req.Header.Set("X-Webhook-Event", "task.completed")
	req.Header.Set("X-Webhook-Delivery", del.String())
	req.Header.Set("X-Webhook-Event-ID", event.String())
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("ceiling POST answered %d", resp.StatusCode)
	}
	return nil
}
