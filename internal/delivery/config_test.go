package delivery

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestNewChecksConfig(t *testing.T) {
	st := openSQLite(t)
	box := newBox(t)
	client := &http.Client{}
	valid := Config{Client: client, Box: box}
	cases := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"client", func(c *Config) { c.Client = nil }, "Client"},
		{"box", func(c *Config) { c.Box = nil }, "Box"},
		{"workers", func(c *Config) { c.Workers = -1 }, "negative"},
		{"schedule", func(c *Config) { c.Schedule = []time.Duration{time.Second, -time.Second} }, "item 2"},
	}
	for _, c := range cases {
		cfg := valid
		c.mutate(&cfg)
		if _, err := New(st, cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: New error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
	if _, err := New(nil, valid); err == nil {
		t.Error("New without a store succeeded")
	}

	eng, err := New(st, valid)
	if err != nil {
		t.Fatal(err)
	}
	got := eng.cfg
	if got.Workers != 256 || got.PerWebhook != 16 || got.Timeout != 10*time.Second ||
		len(got.Schedule) != len(DefaultSchedule) || got.UserAgent != "hookd" || eng.leaseFor != 40*time.Second {
		t.Fatalf("defaults = %+v, lease %v", got, eng.leaseFor)
	}
	single := valid
	single.Schedule = []time.Duration{}
	if eng, err := New(st, single); err != nil || len(eng.cfg.Schedule) != 0 {
		t.Fatalf("an empty schedule must stay empty (single attempt): %v, %v", err, eng.cfg.Schedule)
	}

	// Metrics register once per registry.
	reg := prometheus.NewRegistry()
	withReg := valid
	withReg.Registerer = reg
	if _, err := New(st, withReg); err != nil {
		t.Fatal(err)
	}
	if _, err := New(st, withReg); err == nil {
		t.Error("registering the metrics twice succeeded")
	}
}

func TestRunTwiceFails(t *testing.T) {
	st := openSQLite(t)
	eng, err := New(st, Config{Client: &http.Client{}, Box: newBox(t)})
	if err != nil {
		t.Fatal(err)
	}
	if eng.IngestLease() != nil {
		t.Fatal("IngestLease before Run returned a lease")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := eng.Run(ctx); err != nil {
		t.Fatalf("Run on a canceled context: %v", err)
	}
	if err := eng.Run(context.Background()); err == nil {
		t.Fatal("second Run succeeded")
	}
}
