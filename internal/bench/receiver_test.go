package bench

import (
	"net/http"
	"os"
	"testing"
)

// A receiver must refuse a wrong signature and count it, and count a
// repeated delivery id as a duplicate, never as progress.
func TestReceiverVerifiesAndDeduplicates(t *testing.T) {
	rcv, err := startReceiver(t.TempDir(), ReceiverHTTP2, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer rcv.close()
	ep := rcv.addEndpoint("/r")
	ep.setSecret("whsec_right")
	env := &environment{rcv: rcv}
	client, err := env.plainClient(1)
	if err != nil {
		t.Fatal(err)
	}
	if err := postSigned(t.Context(), client, rcv.url(ep), "whsec_wrong"); err == nil {
		t.Error("a wrong signature was accepted")
	}
	if err := postSigned(t.Context(), client, rcv.url(ep), "whsec_right"); err != nil {
		t.Fatal(err)
	}
	c := rcv.counters()
	if c.BadSignatures != 1 || c.Unique != 1 || ep.unique.Load() != 1 {
		t.Errorf("counters %+v, endpoint unique %d", c, ep.unique.Load())
	}
}

// The receiver speaks the protocol it was told to, whatever the client
// would prefer, and counts one handshake per connection.
func TestReceiverProtocolAndHandshakes(t *testing.T) {
	for _, c := range []struct {
		proto      string
		http1      bool
		handshakes int64
	}{
		{ReceiverHTTP2, false, 1}, // every request multiplexed on one connection
		{ReceiverHTTP11, true, 1}, // requests one after the other reuse the connection
	} {
		rcv, err := startReceiver(t.TempDir(), c.proto, os.Stderr)
		if err != nil {
			t.Fatal(err)
		}
		ep := rcv.addEndpoint("/p")
		ep.setSecret("whsec_p")
		client, err := (&environment{rcv: rcv}).plainClient(4)
		if err != nil {
			t.Fatal(err)
		}
		tr := client.Transport.(*http.Transport) // made to ask for HTTP/2 here
		tr.TLSNextProto, tr.ForceAttemptHTTP2 = nil, true
		for range 5 {
			if err := postSigned(t.Context(), client, rcv.url(ep), "whsec_p"); err != nil {
				t.Fatal(err)
			}
		}
		got := rcv.counters()
		h1, h2 := int64(0), int64(5)
		if c.http1 {
			h1, h2 = 5, 0
		}
		if got.HTTP1 != h1 || got.HTTP2 != h2 || got.Handshakes != c.handshakes {
			t.Errorf("receiver %s: %+v, want %d HTTP/1.1, %d HTTP/2, %d handshakes", c.proto, got, h1, h2, c.handshakes)
		}
		// A client that keeps no idle connection reconnects every time.
		client.CloseIdleConnections()
		client.Transport.(interface{ CloseIdleConnections() }).CloseIdleConnections()
		if err := postSigned(t.Context(), client, rcv.url(ep), "whsec_p"); err != nil {
			t.Fatal(err)
		}
		if n := rcv.counters().Handshakes; n != c.handshakes+1 {
			t.Errorf("receiver %s: %d handshakes after a new connection, want %d", c.proto, n, c.handshakes+1)
		}
		client.CloseIdleConnections()
		if err := rcv.close(); err != nil {
			t.Error(err)
		}
	}
	if _, err := startReceiver(t.TempDir(), "3", os.Stderr); err == nil {
		t.Error("receiver HTTP version 3 accepted")
	}
}
