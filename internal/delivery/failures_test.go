package delivery

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/store"
)

// Every way an attempt can fail is recorded on the attempt row with a
// status code when there was a response and a stable explanation.
func TestFailureClassesAreRecorded(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		const timeout = 500 * time.Millisecond

		target := newReceiver(t, answer(http.StatusOK, ""))
		closedPort := func() string {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := l.Addr().String()
			_ = l.Close()
			return "https://" + addr + "/hook"
		}()

		type class struct {
			name      string
			rc        *receiver // nil: no server behind the URL
			url       string
			secretEnc []byte // nil: a valid secret
			status    int    // 0: no response
			errPrefix string
			called    bool // whether the receiver must have seen the request
		}
		classes := []*class{
			{name: "500", rc: newReceiver(t, answer(500, "oops")), status: 500, errPrefix: "HTTP 500", called: true},
			{name: "404", rc: newReceiver(t, answer(404, "")), status: 404, errPrefix: "HTTP 404", called: true},
			{name: "302", rc: newReceiver(t, func(w http.ResponseWriter, r *http.Request, _ int) {
				http.Redirect(w, r, target.URL(), http.StatusFound)
			}), status: 302, errPrefix: "redirect not followed (HTTP 302)", called: true},
			{name: "timeout", rc: newReceiver(t, hang), errPrefix: "timeout", called: true},
			{name: "slow body", rc: newReceiver(t, func(w http.ResponseWriter, r *http.Request, _ int) {
				w.WriteHeader(http.StatusOK)
				_, _ = w.Write([]byte("partial"))
				w.(http.Flusher).Flush()
				hang(w, r, 0)
			}), status: 200, errPrefix: "timeout", called: true},
			{name: "reset", rc: newReceiver(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
				conn, _, err := w.(http.Hijacker).Hijack()
				if err != nil {
					panic(err)
				}
				tcp := conn.(interface{ NetConn() net.Conn }).NetConn().(*net.TCPConn)
				_ = tcp.SetLinger(0) // close with RST
				_ = tcp.Close()
			}), errPrefix: "connection reset", called: true},
			{name: "unknown authority", rc: newReceiverTLS(t, selfSignedTLS(t), answer(200, "")),
				errPrefix: "tls: certificate signed by unknown authority"},
			{name: "connection refused", url: closedPort, errPrefix: "connection refused"},
			{name: "undecryptable secret", rc: newReceiver(t, answer(200, "")), secretEnc: []byte("not sealed"),
				errPrefix: "webhook secret could not be decrypted"},
		}

		eng := e.newEngine(t, Config{Schedule: []time.Duration{}, Timeout: timeout})
		hooks := make(map[*class]store.Webhook)
		for _, c := range classes {
			url := c.url
			if c.rc != nil {
				url = c.rc.URL()
			}
			w, _ := e.webhook(t, e.team, url)
			if c.secretEnc != nil {
				if err := st.UpdateWebhook(t.Context(), e.team.ID, w.ID, store.WebhookPatch{SecretEnc: c.secretEnc}); err != nil {
					t.Fatal(err)
				}
			}
			hooks[c] = w
		}
		start(t, eng)
		e.ingest(t, e.team, 1)
		eng.Wake()

		for _, c := range classes {
			w := hooks[c]
			d := e.settled(t, e.team, w, e.only(t, e.team, w).ID, 10*time.Second)
			if d.Status != store.StatusFailed || len(d.Attempts) != 1 {
				t.Errorf("%s: delivery %s with %d attempts, want failed with 1", c.name, d.Status, len(d.Attempts))
				continue
			}
			a := d.Attempts[0]
			if got := deref(a.StatusCode); (c.status == 0 && a.StatusCode != nil) || (c.status != 0 && got != c.status) {
				t.Errorf("%s: status code %v, want %d (0: none)", c.name, got, c.status)
			}
			if a.Error == nil || !strings.HasPrefix(*a.Error, c.errPrefix) {
				t.Errorf("%s: error %v, want prefix %q", c.name, deref(a.Error), c.errPrefix)
			}
			if deref(d.LastError) != deref(a.Error) {
				t.Errorf("%s: last_error %v, attempt error %v", c.name, deref(d.LastError), deref(a.Error))
			}
			if c.rc != nil {
				if n := c.rc.count(); (n > 0) != c.called {
					t.Errorf("%s: receiver saw %d requests, want called=%v", c.name, n, c.called)
				}
			}
		}
		if n := target.count(); n != 0 {
			t.Errorf("the redirect target was called %d times", n)
		}
	})
}

// A destination the network policy refuses is never connected to.
func TestRefusedDestinationMakesNoConnection(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		rc := newReceiver(t, answer(200, ""))
		w, _ := e.webhook(t, e.team, rc.URL())
		eng := e.newEngine(t, Config{Schedule: []time.Duration{}, Client: testClient(t, time.Second /* no allow */)})
		start(t, eng)
		e.ingest(t, e.team, 1)
		eng.Wake()

		d := e.settled(t, e.team, w, e.only(t, e.team, w).ID, 5*time.Second)
		if d.Status != store.StatusFailed || len(d.Attempts) != 1 {
			t.Fatalf("delivery %s with %d attempts, want failed with 1", d.Status, len(d.Attempts))
		}
		if a := d.Attempts[0]; a.StatusCode != nil || deref(a.Error) != "destination refused by network policy (hookd serve --allow-cidr permits a range)" {
			t.Fatalf("attempt = status %v error %v", deref(a.StatusCode), deref(a.Error))
		}
		if _, _, conns := rc.stats(); conns != 0 || rc.count() != 0 {
			t.Fatalf("receiver saw %d connections and %d requests, want none", conns, rc.count())
		}
	})
}
