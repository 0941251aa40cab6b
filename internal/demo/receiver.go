package demo

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// Receiver paths: one endpoint that always answers 200, one that fails the
// first flakyFailures attempts of every delivery.
const (
	pathSteady    = "/hooks/steady"
	pathFlaky     = "/hooks/flaky"
	flakyFailures = 2
	maxBodyRead   = 1 << 20
	caFileName    = "receiver-ca.pem"
)

// receivedRequest is one request exactly as the receiver saw it.
type receivedRequest struct {
	seq      int           // 1-based, in arrival order
	at       time.Duration // since the receiver's clock was started
	method   string
	path     string
	header   http.Header
	body     []byte
	answered int // the status code the receiver answered
}

// receiver is an HTTPS server on loopback whose certificate is signed by
// nobody but itself: hookd trusts it only because its PEM is passed as
// --ca-file, as a private deployment would do with its own CA.
type receiver struct {
	srv    *http.Server
	base   string // https://127.0.0.1:port
	caFile string

	mu        sync.Mutex
	start     time.Time
	requests  []receivedRequest
	perFlaky  map[string]int // attempts seen per X-Webhook-Delivery on the flaky path
	serveDone chan struct{}
}

// startReceiver listens on 127.0.0.1:0 and writes its CA certificate into dir.
func startReceiver(dir string, errorLog io.Writer) (*receiver, error) {
	cert, caPEM, err := selfSignedCert(time.Now())
	if err != nil {
		return nil, fmt.Errorf("making the receiver's certificate: %w", err)
	}
	caFile := filepath.Join(dir, caFileName)
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		return nil, fmt.Errorf("writing the receiver's CA: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("starting the receiver: %w", err)
	}
	r := &receiver{
		base: "https://" + ln.Addr().String(), caFile: caFile,
		start: time.Now(), perFlaky: map[string]int{}, serveDone: make(chan struct{}),
	}
	r.srv = &http.Server{
		Handler:           http.HandlerFunc(r.serveHTTP),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          log.New(errorLog, "demo receiver: ", 0),
	}
	go func() {
		defer close(r.serveDone)
		_ = r.srv.ServeTLS(ln, "", "") // returns http.ErrServerClosed on close
	}()
	return r, nil
}

// url is the address of one of the receiver's paths.
func (r *receiver) url(path string) string { return r.base + path }

// restartClock makes arrival times relative to now (the first ingest).
func (r *receiver) restartClock() {
	r.mu.Lock()
	r.start = time.Now()
	r.mu.Unlock()
}

func (r *receiver) serveHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, maxBodyRead))
	if err != nil {
		http.Error(w, "reading the body: "+err.Error(), http.StatusBadRequest)
		return
	}
	status, answer := http.StatusNotFound, "no such endpoint"
	r.mu.Lock()
	switch req.URL.Path {
	case pathSteady:
		status, answer = http.StatusOK, "ok"
	case pathFlaky:
		id := req.Header.Get("X-Webhook-Delivery")
		r.perFlaky[id]++
		if n := r.perFlaky[id]; n <= flakyFailures {
			status, answer = http.StatusServiceUnavailable, "failing on purpose (attempt "+strconv.Itoa(n)+")"
		} else {
			status, answer = http.StatusOK, "ok at last"
		}
	}
	r.requests = append(r.requests, receivedRequest{
		seq: len(r.requests) + 1, at: time.Since(r.start), method: req.Method, path: req.URL.Path,
		header: req.Header.Clone(), body: body, answered: status,
	})
	r.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, answer)
}

// seen returns a copy of the requests received so far, in arrival order.
func (r *receiver) seen() []receivedRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]receivedRequest(nil), r.requests...)
}

// close stops the server at once and waits for its loop to end.
func (r *receiver) close() error {
	err := r.srv.Close()
	<-r.serveDone
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// selfSignedCert makes a certificate for the loopback addresses that is its
// own CA, and its PEM (what --ca-file reads).
func selfSignedCert(now time.Time) (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "hookd demo receiver", Organization: []string{"hookd demo"}},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	return cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}
