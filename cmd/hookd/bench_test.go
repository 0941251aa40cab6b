package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// Contradictory or unknown bench settings are usage errors (exit status 2),
// found before anything starts.
func TestBenchFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--receiver-http", "3"},
		{"--in-process", "--hookd-bin", "/bin/true"},
		{"--hookd-bin", "/no/such/hookd"},
		{"--scenario", "nope"},
		{"--events", "-1"},
		{"extra"},
	} {
		var stderr bytes.Buffer
		err := bench(context.Background(), args, &bytes.Buffer{}, &stderr)
		if !errors.Is(err, errUsage) {
			t.Errorf("hookd bench %v: %v, want a usage error", args, err)
		}
	}
}

// The table is printed on stdout, row by row; --json prints one document.
// The ceiling alone needs no hookd, so this stays fast.
func TestBenchOutput(t *testing.T) {
	var table, stderr bytes.Buffer
	args := []string{"--scenario", "ceiling", "--events", "50", "--receiver-http", "1.1", "--concurrency", "2"}
	if err := bench(context.Background(), args, &table, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	out := table.String()
	for _, want := range []string{"receiver: HTTP/1.1 only", "SCENARIO", "\nceiling ", "2 clients", "TLS hs/1k:"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	var js bytes.Buffer
	if err := bench(context.Background(), append(args, "--json"), &js, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	var rep struct {
		Settings struct {
			Mode         string `json:"mode"`
			ReceiverHTTP string `json:"receiver_http"`
		} `json:"settings"`
		Results []struct {
			Scenario string `json:"scenario"`
			HTTP1    int64  `json:"http1_requests"`
		} `json:"results"`
	}
	if err := json.Unmarshal(js.Bytes(), &rep); err != nil {
		t.Fatalf("--json output is not one JSON document: %v\n%s", err, js.String())
	}
	if rep.Settings.Mode != "child" || rep.Settings.ReceiverHTTP != "1.1" || len(rep.Results) != 1 || rep.Results[0].HTTP1 < 50 {
		t.Errorf("report %+v", rep)
	}
}
