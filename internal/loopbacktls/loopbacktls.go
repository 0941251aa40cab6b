// Package loopbacktls serves HTTPS on 127.0.0.1 with a certificate made for
// the run. The certificate is its own CA; its PEM is written to a file that
// hookd is given as --ca-file, so hookd verifies the receiver exactly as it
// verifies any destination. The demo and the bench receivers use it.
package loopbacktls

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
	"time"
)

// Server is an HTTPS server on a free loopback port.
type Server struct {
	URL    string // https://127.0.0.1:port
	CAFile string // PEM of the server's certificate, for --ca-file
	srv    *http.Server
	done   chan struct{}
}

// Start writes the CA file into dir and serves h until Close. name labels
// the certificate and the error log lines.
func Start(dir, name string, h http.Handler, errorLog io.Writer) (*Server, error) {
	cert, caPEM, err := NewCert(name, time.Now())
	if err != nil {
		return nil, fmt.Errorf("making the %s certificate: %w", name, err)
	}
	caFile := filepath.Join(dir, "receiver-ca.pem")
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		return nil, fmt.Errorf("writing the %s CA: %w", name, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("starting the %s: %w", name, err)
	}
	s := &Server{URL: "https://" + ln.Addr().String(), CAFile: caFile, done: make(chan struct{})}
	s.srv = &http.Server{
		Handler:           h,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(errorLog, name+": ", 0),
	}
	go func() {
		defer close(s.done)
		_ = s.srv.ServeTLS(ln, "", "") // http.ErrServerClosed on Close
	}()
	return s, nil
}

// Close stops the server, cutting open connections, and waits for it.
func (s *Server) Close() error {
	err := s.srv.Close()
	<-s.done
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// NewCert makes a certificate for 127.0.0.1, ::1 and localhost that is its
// own CA, valid from a minute before now for two days, and its PEM.
func NewCert(commonName string, now time.Time) (tls.Certificate, []byte, error) {
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
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(48 * time.Hour),
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
