package bench

import (
	"testing"
)

// TestJudge: each criterion of a target is stated and judged on its own
// figure; the verdict is met only when every one is; a CPU target with no
// CPU figure (in-process) is stated as not measured, not failed.
func TestJudge(t *testing.T) {
	cpu := func(us float64) *CPUUse { return &CPUUse{MicrosPerDelivery: us} }
	cases := []struct {
		name     string
		scenario string
		postgres bool
		res      Result
		want     string
		met      bool
	}{
		{"sqlite throughput met", ScenarioThroughput, false, Result{Ratio: 0.55, HookdCPU: cpu(59)},
			"ratio ≥ 0.50, hookd ≤ 60 µs/del", true},
		{"sqlite throughput: CPU missed", ScenarioThroughput, false, Result{Ratio: 0.55, HookdCPU: cpu(61)},
			"ratio ≥ 0.50, hookd ≤ 60 µs/del", false},
		{"sqlite throughput: ratio missed", ScenarioThroughput, false, Result{Ratio: 0.49, HookdCPU: cpu(10)},
			"ratio ≥ 0.50, hookd ≤ 60 µs/del", false},
		{"postgres throughput counts PostgreSQL's CPU", ScenarioThroughput, true,
			Result{Ratio: 0.6, HookdCPU: cpu(100), PostgresCPU: cpu(51)}, "ratio ≥ 0.50, hookd+PG ≤ 150 µs/del", false},
		{"postgres throughput met", ScenarioThroughput, true,
			Result{Ratio: 0.6, HookdCPU: cpu(100), PostgresCPU: cpu(50)}, "ratio ≥ 0.50, hookd+PG ≤ 150 µs/del", true},
		{"in-process: CPU not judged", ScenarioThroughput, false, Result{Ratio: 0.6},
			"ratio ≥ 0.50, hookd ≤ 60 µs/del not measured in-process", true},
		{"fanout8 sqlite", ScenarioFanout8, false, Result{Ratio: 0.59}, "ratio ≥ 0.60", false},
		{"fanout8 postgres", ScenarioFanout8, true, Result{Ratio: 0.41}, "ratio ≥ 0.40", true},
		{"ingest-single postgres", ScenarioIngestSingle, true, Result{HookdCPU: cpu(150), PostgresCPU: cpu(50)},
			"hookd+PG ≤ 200 µs/del", true},
		{"latency-single: answer tail missed", ScenarioLatencySingle, false,
			Result{Latency: Latency{P99: 2.1}, LatencyFromCall: Latency{P99: 4}},
			"answer→receipt p99 ≤ 2 ms, call→receipt p99 ≤ 5 ms", false},
		{"latency-single met", ScenarioLatencySingle, true,
			Result{Latency: Latency{P99: 2}, LatencyFromCall: Latency{P99: 5}},
			"answer→receipt p99 ≤ 2 ms, call→receipt p99 ≤ 5 ms", true},
		{"latency", ScenarioLatency, false, Result{Latency: Latency{P99: 26}}, "answer→receipt p99 ≤ 25 ms", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tg, ok := targetFor(c.scenario, c.postgres)
			if !ok {
				t.Fatalf("%s has no target", c.scenario)
			}
			judge(&c.res, tg, c.postgres)
			if c.res.Target != c.want || c.res.TargetMet == nil || *c.res.TargetMet != c.met {
				t.Errorf("judged %q met=%v, want %q met=%v", c.res.Target, c.res.TargetMet != nil && *c.res.TargetMet, c.want, c.met)
			}
		})
	}
	for _, s := range []string{ScenarioCeiling, ScenarioFanout, ScenarioIsolation, ScenarioBacklog, ScenarioLog} {
		if _, ok := targetFor(s, false); ok {
			t.Errorf("%s has a target here; it has none, or its own", s)
		}
	}
}
