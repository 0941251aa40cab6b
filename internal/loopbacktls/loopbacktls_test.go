package loopbacktls

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"testing"
)

// A client that trusts only the CA file reaches the server; one that does
// not trust it is refused by TLS verification.
func TestServerIsTrustedThroughItsCAFile(t *testing.T) {
	s, err := Start(t.TempDir(), "test receiver", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "ok")
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	pemData, err := os.ReadFile(s.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemData) {
		t.Fatal("CA file holds no certificate")
	}
	trusting := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	res, err := trusting.Get(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != "ok" {
		t.Fatalf("body %q", body)
	}
	stranger := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: x509.NewCertPool()}}}
	if _, err := stranger.Get(s.URL); err == nil {
		t.Fatal("a client without the CA must not verify the server")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
