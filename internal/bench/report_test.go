package bench

import (
	"bytes"
	"strings"
	"testing"
)

// The table prints its header at once and each row as it is given, with
// the PostgreSQL columns only on PostgreSQL.
func TestTableStreamsRows(t *testing.T) {
	for _, store := range []string{"sqlite", "postgres"} {
		var out bytes.Buffer
		rep := Report{Store: store, Settings: Settings{Mode: "child", HookdBin: "/x/hookd", ReceiverHTTP: ReceiverHTTP11}}
		tw := NewTableWriter(&out, rep)
		head := out.String()
		if !strings.Contains(head, "SCENARIO") || !strings.Contains(head, "HTTP/1.1 only") || !strings.Contains(head, "/x/hookd") {
			t.Errorf("%s: header %q", store, head)
		}
		if got := strings.Contains(head, "PG µs/del"); got != (store == "postgres") {
			t.Errorf("%s: PG column shown: %t", store, got)
		}
		r := Result{Scenario: ScenarioFanout8, Deliveries: 800, Seconds: 2, PerSecond: 400, Ratio: 0.25,
			HookdCPU: &CPUUse{Seconds: 0.26, MicrosPerDelivery: 321}, HTTP1Requests: 800, TLSHandshakes: 640,
			HandshakesPer1000: 800, Detail: "d"}
		cpu := "0.26"
		if store == "postgres" {
			r.PostgresCPU = &CPUUse{Seconds: 0.52, MicrosPerDelivery: 654}
			r.PostgresHookdBackendsCPU = &CPUUse{MicrosPerDelivery: 432}
			cpu = "0.26/0.52"
		}
		if err := tw.Row(r); err != nil {
			t.Fatal(err)
		}
		row := strings.TrimPrefix(out.String(), head)
		for _, want := range []string{"fanout8", "800", "0.25", "321", cpu, "1.1", "800.0", "d"} {
			if !strings.Contains(row, want) {
				t.Errorf("%s: row %q lacks %q", store, row, want)
			}
		}
		if got := strings.Contains(row, "654/432"); got != (store == "postgres") {
			t.Errorf("%s: row %q shows PostgreSQL CPU: %t", store, row, got)
		}
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "TLS hs/1k:") {
			t.Errorf("%s: no notes after Close", store)
		}
	}
}
