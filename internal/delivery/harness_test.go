package delivery

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookd/hookd/internal/netguard"
	"github.com/hookd/hookd/internal/payload"
	"github.com/hookd/hookd/internal/secretbox"
	"github.com/hookd/hookd/internal/store"
	"github.com/hookd/hookd/internal/store/postgres"
)

// storeCase opens a fresh, empty store of one implementation.
type storeCase struct {
	name string
	open func(t *testing.T) store.Store
}

func openPostgres(t *testing.T) store.Store {
	t.Helper()
	return postgres.TestStore(t) // skips without HOOKD_TEST_DATABASE_URL
}

var storeCases = []storeCase{{"sqlite", openSQLite}, {"postgres", openPostgres}}

// forEachStore runs test once per store implementation.
func forEachStore(t *testing.T, test func(t *testing.T, st store.Store)) {
	t.Helper()
	for _, sc := range storeCases {
		t.Run(sc.name, func(t *testing.T) { test(t, sc.open(t)) })
	}
}

// caFile holds the certificate every httptest TLS server presents.
var (
	caOnce sync.Once
	caPath string
)

func testCAFile(t *testing.T) string {
	t.Helper()
	caOnce.Do(func() {
		srv := httptest.NewTLSServer(http.NotFoundHandler())
		defer srv.Close()
		dir, err := os.MkdirTemp("", "hookd-delivery-ca")
		if err != nil {
			panic(err)
		}
		caPath = filepath.Join(dir, "ca.pem")
		block := &pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}
		if err := os.WriteFile(caPath, pem.EncodeToMemory(block), 0o600); err != nil {
			panic(err)
		}
	})
	return caPath
}

// request is what a receiver saw.
type request struct {
	at     time.Time
	header http.Header
	body   []byte
}

// receiver is an HTTPS endpoint on 127.0.0.1 that records every request and
// answers with handle (n is the 1-based number of the request).
type receiver struct {
	srv    *httptest.Server
	handle func(w http.ResponseWriter, r *http.Request, n int)

	mu       sync.Mutex
	reqs     []request
	inFlight int
	maxConc  int
	conns    int
}

func newReceiver(t *testing.T, handle func(w http.ResponseWriter, r *http.Request, n int)) *receiver {
	return newReceiverTLS(t, nil, handle)
}

// newReceiverTLS starts a receiver; cfg replaces the default test
// certificate when not nil.
func newReceiverTLS(t *testing.T, cfg *tls.Config, handle func(w http.ResponseWriter, r *http.Request, n int)) *receiver {
	t.Helper()
	rc := &receiver{handle: handle}
	rc.srv = httptest.NewUnstartedServer(http.HandlerFunc(rc.serve))
	rc.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			rc.mu.Lock()
			rc.conns++
			rc.mu.Unlock()
		}
	}
	if cfg != nil {
		rc.srv.TLS = cfg
	}
	rc.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshake failures are expected in some tests
	rc.srv.StartTLS()
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, request{at: time.Now(), header: r.Header.Clone(), body: body})
	n := len(rc.reqs)
	rc.inFlight++
	rc.maxConc = max(rc.maxConc, rc.inFlight)
	rc.mu.Unlock()
	defer func() {
		rc.mu.Lock()
		rc.inFlight--
		rc.mu.Unlock()
	}()
	rc.handle(w, r, n)
}

func (rc *receiver) URL() string { return rc.srv.URL + "/hook" }

func (rc *receiver) requests() []request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]request(nil), rc.reqs...)
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.reqs)
}

func (rc *receiver) stats() (inFlight, maxConc, conns int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.inFlight, rc.maxConc, rc.conns
}

// answer is a handler that always replies with code and body.
func answer(code int, body string) func(http.ResponseWriter, *http.Request, int) {
	return func(w http.ResponseWriter, _ *http.Request, _ int) {
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}
}

// hang is a handler that answers only after the client gave up.
func hang(w http.ResponseWriter, r *http.Request, _ int) {
	select {
	case <-r.Context().Done():
	case <-time.After(10 * time.Second):
	}
}

// selfSignedTLS is a server certificate for 127.0.0.1 from an authority no
// test trusts.
func selfSignedTLS(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "untrusted"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

// env is one team in a store, with the key its webhook secrets are sealed
// under.
type env struct {
	st   store.Store
	box  *secretbox.Box
	team store.Team
}

func newEnv(t *testing.T, st store.Store) *env {
	t.Helper()
	return &env{st: st, box: newBox(t), team: newTeam(t, st)}
}

// newBox is a secretbox under a random key.
func newBox(t testing.TB) *secretbox.Box {
	t.Helper()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	box, err := secretbox.New(key)
	if err != nil {
		t.Fatalf("secretbox.New: %v", err)
	}
	return box
}

func newID(t *testing.T) uuid.UUID {
	t.Helper()
	id, err := uuid.NewV7()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func newTeam(t *testing.T, st store.Store) store.Team {
	t.Helper()
	tm := store.Team{ID: newID(t), DisplayName: "team", CreatedAt: time.Now().UTC()}
	if err := st.CreateTeam(context.Background(), tm); err != nil {
		t.Fatalf("CreateTeam: %v", err)
	}
	return tm
}

func newSecret(t *testing.T) string {
	t.Helper()
	s, err := secretbox.GenerateSecret("whsec_", 32)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// webhook creates an active webhook of team for task.completed at url and
// returns it with its plaintext secret.
func (e *env) webhook(t *testing.T, team store.Team, url string) (store.Webhook, string) {
	t.Helper()
	secret := newSecret(t)
	w := store.Webhook{
		ID:          newID(t),
		TeamID:      team.ID,
		DisplayName: "hook",
		URL:         url,
		SecretEnc:   e.box.Seal([]byte(secret)),
		Events:      []string{"task.completed"},
		Status:      store.WebhookActive,
		CreatedAt:   time.Now().UTC(),
	}
	if err := e.st.CreateWebhook(context.Background(), w); err != nil {
		t.Fatalf("CreateWebhook: %v", err)
	}
	return w, secret
}

// events renders n task.completed events of team.
func events(t *testing.T, team store.Team, n int) []store.NewEvent {
	t.Helper()
	evs := make([]store.NewEvent, n)
	for i := range evs {
		task := newID(t)
		at := time.Now().UTC()
		out := json.RawMessage(`{"storage_key":"tasks/` + task.String() + `/out.png","image_count":1,"note":"<&>"}`)
		body, err := payload.Render("task.completed", task, "completed", out, "", at)
		if err != nil {
			t.Fatalf("payload.Render: %v", err)
		}
		evs[i] = store.NewEvent{
			ID: newID(t), TeamID: team.ID, TaskID: task, EventType: "task.completed",
			TaskStatus: "completed", Body: body, CreatedAt: at,
		}
	}
	return evs
}

// ingest writes n events of team without leasing and returns the results.
func (e *env) ingest(t *testing.T, team store.Team, n int) []store.IngestResult {
	t.Helper()
	return ingestWith(t, e.st, events(t, team, n), store.IngestOptions{})
}

func ingestWith(t *testing.T, st store.Store, evs []store.NewEvent, opt store.IngestOptions) []store.IngestResult {
	t.Helper()
	res, err := st.IngestEvents(context.Background(), evs, opt)
	if err != nil {
		t.Fatalf("IngestEvents: %v", err)
	}
	for _, r := range res {
		if r.Err != nil {
			t.Fatalf("IngestEvents: event error %v", r.Err)
		}
	}
	return res
}

// client is a netguard client trusting the test CA; allow lists the
// destination ranges the policy permits.
func testClient(t *testing.T, timeout time.Duration, allow ...string) *http.Client {
	t.Helper()
	p, err := netguard.NewPolicy(allow)
	if err != nil {
		t.Fatalf("NewPolicy: %v", err)
	}
	c, err := netguard.NewClient(p, netguard.ClientOptions{CAFile: testCAFile(t), Timeout: timeout})
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

var loopback = []string{"127.0.0.0/8", "::1/128"}

// newEngine builds an engine on e's store and key; zero fields of cfg get
// test defaults (Timeout 2s, loopback allowed). Only the wake paths can find
// work: the safety-net poll is turned off so a test fails if they break.
func (e *env) newEngine(t *testing.T, cfg Config) *Engine {
	t.Helper()
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * time.Second
	}
	if cfg.Client == nil {
		cfg.Client = testClient(t, cfg.Timeout, loopback...)
	}
	if cfg.Box == nil {
		cfg.Box = e.box
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "hookd/test"
	}
	// DELIVERY_DEBUG=1 go test … prints every engine log line, attempts included.
	if os.Getenv("DELIVERY_DEBUG") != "" && cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	eng, err := New(e.st, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	eng.pollEvery = time.Hour
	return eng
}

// start runs eng until the returned stop is called (or the test ends); stop
// waits for Run to return and fails the test if it returned an error.
func start(t *testing.T, eng *Engine) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx) }()
	waitFor(t, 5*time.Second, "engine running and registered", func() bool {
		eng.mu.Lock()
		defer eng.mu.Unlock()
		return eng.running && eng.member != nil
	})
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Errorf("Run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// deliveries lists every delivery of a webhook, newest first.
func (e *env) deliveries(t *testing.T, team store.Team, w store.Webhook) []store.Delivery {
	t.Helper()
	ds, _, err := e.st.ListDeliveries(context.Background(), team.ID, w.ID, store.DeliveryFilter{}, store.Page{Number: 1, Size: 100})
	if err != nil {
		t.Fatalf("ListDeliveries: %v", err)
	}
	return ds
}

// only returns the one delivery of a webhook.
func (e *env) only(t *testing.T, team store.Team, w store.Webhook) store.Delivery {
	t.Helper()
	ds := e.deliveries(t, team, w)
	if len(ds) != 1 {
		t.Fatalf("webhook has %d deliveries, want 1", len(ds))
	}
	return ds[0]
}

// settled waits until delivery id of w leaves pending and returns it.
func (e *env) settled(t *testing.T, team store.Team, w store.Webhook, id uuid.UUID, timeout time.Duration) store.DeliveryDetail {
	t.Helper()
	var d store.DeliveryDetail
	waitFor(t, timeout, "delivery "+id.String()+" to settle", func() bool {
		var err error
		d, err = e.st.GetDelivery(context.Background(), team.ID, w.ID, id)
		if err != nil {
			t.Fatalf("GetDelivery: %v", err)
		}
		return d.Status != store.StatusPending
	})
	return d
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}
