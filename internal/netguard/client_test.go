package netguard

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// okHandler answers 200 "ok".
var okHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })

// newTLSServer starts an HTTPS test server on the given loopback address.
func newTLSServer(t *testing.T, network, address string, h http.Handler) *httptest.Server {
	t.Helper()
	ln, err := net.Listen(network, address)
	if err != nil {
		t.Skipf("cannot listen on %s %s: %v", network, address, err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.EnableHTTP2 = true
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected here
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// caFileFor writes the server's certificate as a PEM root file.
func caFileFor(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.pem")
	block := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(path, block, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustClient(t *testing.T, p *Policy, opts ClientOptions) *http.Client {
	t.Helper()
	c, err := NewClient(p, opts)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func post(c *http.Client, url string) (*http.Response, error) {
	resp, err := c.Post(url, "application/json", strings.NewReader(`{}`))
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return resp, err
}

func portOf(srv *httptest.Server) string {
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	return port
}

func TestClientRefusesLoopbackByDefault(t *testing.T) {
	var hits atomic.Int32
	counting := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) })
	v4 := newTLSServer(t, "tcp4", "127.0.0.1:0", counting)
	port := portOf(v4)
	targets := []string{
		"https://127.0.0.1:" + port + "/",
		"https://localhost:" + port + "/", // a name that resolves to loopback
		"https://0.0.0.0:" + port + "/",   // Linux routes 0.0.0.0 to the local host
		"https://[::ffff:127.0.0.1]:" + port + "/",
	}
	if v6, err := net.Listen("tcp6", "[::1]:0"); err == nil {
		v6.Close()
		srv6 := newTLSServer(t, "tcp6", "[::1]:0", counting)
		targets = append(targets, "https://[::1]:"+portOf(srv6)+"/")
	}
	// Even a trusted CA must not get a refused destination through.
	c := mustClient(t, mustPolicy(t), ClientOptions{CAFile: caFileFor(t, v4), Timeout: 5 * time.Second})
	for _, target := range targets {
		_, err := post(c, target)
		if err == nil {
			t.Errorf("POST %s succeeded, want a refusal", target)
			continue
		}
		if !IsRefused(err) {
			t.Errorf("POST %s: IsRefused(%v) = false", target, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the server was reached %d times", n)
	}
}

func TestClientReachesAllowedLoopback(t *testing.T) {
	policy := mustPolicy(t, "127.0.0.0/8", "::1/128")
	v4 := newTLSServer(t, "tcp4", "127.0.0.1:0", okHandler)
	c := mustClient(t, policy, ClientOptions{CAFile: caFileFor(t, v4), Timeout: 5 * time.Second})
	resp, err := post(c, v4.URL+"/hook")
	if err != nil {
		t.Fatalf("POST %s: %v", v4.URL, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status = %d, want 200", resp.StatusCode)
	}
	if resp.ProtoMajor != 1 || resp.ProtoMinor != 1 {
		t.Errorf("protocol = %s, want HTTP/1.1 even from a server that offers HTTP/2", resp.Proto)
	}

	// httptest's certificate covers ::1 as well; every such server shares it.
	v6 := newTLSServer(t, "tcp6", "[::1]:0", okHandler)
	resp, err = post(c, v6.URL+"/hook")
	if err != nil {
		t.Fatalf("POST %s: %v", v6.URL, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status = %d, want 200", resp.StatusCode)
	}
}

func TestClientUnknownCAIsATLSErrorNotARefusal(t *testing.T) {
	srv := newTLSServer(t, "tcp4", "127.0.0.1:0", okHandler)
	c := mustClient(t, mustPolicy(t, "127.0.0.0/8"), ClientOptions{Timeout: 5 * time.Second})
	_, err := post(c, srv.URL)
	if err == nil {
		t.Fatal("a server with an unknown CA was accepted")
	}
	if IsRefused(err) {
		t.Errorf("IsRefused(%v) = true for a TLS failure", err)
	}
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Errorf("error %v is not an x509.UnknownAuthorityError", err)
	}
}

func TestClientDoesNotFollowRedirects(t *testing.T) {
	var targetHits atomic.Int32
	target := newTLSServer(t, "tcp4", "127.0.0.1:0", http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		targetHits.Add(1)
	}))
	redirector := newTLSServer(t, "tcp4", "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/elsewhere", http.StatusTemporaryRedirect)
	}))
	c := mustClient(t, mustPolicy(t, "127.0.0.0/8"), ClientOptions{CAFile: caFileFor(t, redirector)})
	resp, err := post(c, redirector.URL)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	if resp.StatusCode != http.StatusTemporaryRedirect {
		t.Errorf("status = %d, want the 307 itself", resp.StatusCode)
	}
	if n := targetHits.Load(); n != 0 {
		t.Errorf("redirect target called %d times", n)
	}
}

func TestClientIgnoresProxyEnvironment(t *testing.T) {
	var proxyHits atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxyHits.Add(1)
		http.Error(w, "proxy", http.StatusBadGateway)
	}))
	t.Cleanup(proxy.Close)
	for _, name := range []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"} {
		t.Setenv(name, proxy.URL)
	}
	t.Setenv("NO_PROXY", "")
	t.Setenv("no_proxy", "")

	srv := newTLSServer(t, "tcp4", "127.0.0.1:0", okHandler)
	c := mustClient(t, mustPolicy(t, "127.0.0.0/8"), ClientOptions{CAFile: caFileFor(t, srv)})
	transport := c.Transport.(*http.Transport)
	// net/http never proxies loopback destinations, so only the transport's
	// configuration can show that the environment is not consulted at all.
	if transport.Proxy != nil {
		t.Error("transport.Proxy is set; it must be nil so the environment is never consulted")
	}
	resp, err := post(c, srv.URL)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("POST with proxy variables set: %v, %v", resp, err)
	}
	if n := proxyHits.Load(); n != 0 {
		t.Errorf("proxy called %d times", n)
	}
}

func TestClientTimeoutBoundsTheAttempt(t *testing.T) {
	release := make(chan struct{})
	slow := newTLSServer(t, "tcp4", "127.0.0.1:0", http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		<-release
	}))
	defer close(release)
	c := mustClient(t, mustPolicy(t, "127.0.0.0/8"), ClientOptions{CAFile: caFileFor(t, slow), Timeout: 200 * time.Millisecond})
	start := time.Now()
	_, err := post(c, slow.URL)
	if err == nil {
		t.Fatal("a server that never answers did not time out")
	}
	if elapsed := time.Since(start); elapsed > 3*time.Second {
		t.Errorf("timed out after %s, want about 200ms", elapsed)
	}
	var netErr net.Error
	if !errors.As(err, &netErr) || !netErr.Timeout() {
		t.Errorf("error %v is not a timeout", err)
	}
}

func TestNewClientConfiguration(t *testing.T) {
	c := mustClient(t, mustPolicy(t), ClientOptions{})
	tr := c.Transport.(*http.Transport)
	if c.Timeout != DefaultTimeout || tr.MaxIdleConnsPerHost != DefaultMaxIdleConnsPerHost {
		t.Errorf("defaults: timeout %s, idle per host %d", c.Timeout, tr.MaxIdleConnsPerHost)
	}
	if tr.TLSClientConfig.InsecureSkipVerify || tr.TLSClientConfig.MinVersion < 0x0303 {
		t.Errorf("TLS config %+v is weaker than verified TLS 1.2", tr.TLSClientConfig)
	}
	if tr.ForceAttemptHTTP2 || tr.TLSNextProto == nil || len(tr.TLSNextProto) != 0 || tr.DisableKeepAlives {
		t.Error("HTTP/1.1 with keep-alive: HTTP/2 must be off, keep-alive on")
	}
	if tr.ResponseHeaderTimeout <= 0 || tr.ResponseHeaderTimeout > c.Timeout {
		t.Errorf("response header timeout %s not within %s", tr.ResponseHeaderTimeout, c.Timeout)
	}

	c = mustClient(t, mustPolicy(t), ClientOptions{Timeout: 3 * time.Second, MaxIdleConnsPerHost: 4})
	if c.Timeout != 3*time.Second || c.Transport.(*http.Transport).MaxIdleConnsPerHost != 4 {
		t.Error("options not applied")
	}
}

func TestNewClientRejectsBadOptions(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := map[string]ClientOptions{
		"missing CA file":  {CAFile: filepath.Join(dir, "missing.pem")},
		"CA file not PEM":  {CAFile: notPEM},
		"negative timeout": {Timeout: -time.Second},
		"negative idle":    {MaxIdleConnsPerHost: -1},
	}
	for name, opts := range cases {
		if _, err := NewClient(mustPolicy(t), opts); err == nil {
			t.Errorf("%s: NewClient accepted %+v", name, opts)
		}
	}
	if _, err := NewClient(nil, ClientOptions{}); err == nil {
		t.Error("NewClient accepted a nil policy")
	}
}
