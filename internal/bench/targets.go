package bench

import (
	"fmt"
	"strings"
	"time"
)

// target is what a scenario's figures must reach: the lean-path targets
// (ratio to the ceiling, CPU per delivery, latency tail) and, for the batch
// latency scenario, the first harness's p99. Zero fields are not judged.
type target struct {
	minRatio       float64
	maxCPU         float64       // µs per delivery: hookd alone on SQLite; hookd plus every PostgreSQL process
	maxP99         time.Duration // ingest answer → receipt
	maxP99FromCall time.Duration // start of the ingest call → receipt
}

// targetFor returns scenario's target on the given store, if it has one.
// The CPU targets are for one webhook: batch ingest (throughput) and
// single-event ingest (ingest-single).
func targetFor(scenario string, postgres bool) (target, bool) {
	pick := func(sqlite, pg float64) float64 {
		if postgres {
			return pg
		}
		return sqlite
	}
	switch scenario {
	case ScenarioThroughput:
		return target{minRatio: 0.5, maxCPU: pick(60, 150)}, true
	case ScenarioFanout8:
		return target{minRatio: pick(0.6, 0.4)}, true
	case ScenarioIngestSingle:
		return target{maxCPU: pick(100, 200)}, true
	case ScenarioLatencySingle:
		return target{maxP99: 2 * time.Millisecond, maxP99FromCall: 5 * time.Millisecond}, true
	case ScenarioLatency:
		return target{maxP99: 25 * time.Millisecond}, true
	}
	return target{}, false
}

// judge states t and whether res meets it in res.Target and res.TargetMet.
// A CPU target is judged only when the CPU was measured (not in-process);
// the target then says so.
func judge(res *Result, t target, postgres bool) {
	var want []string
	met := true
	check := func(desc string, ok bool) {
		want = append(want, desc)
		met = met && ok
	}
	if t.minRatio > 0 {
		check(fmt.Sprintf("ratio ≥ %.2f", t.minRatio), res.Ratio >= t.minRatio)
	}
	if t.maxCPU > 0 {
		who := "hookd"
		if postgres {
			who = "hookd+PG"
		}
		if cpu, ok := cpuPerDelivery(res, postgres); ok {
			check(fmt.Sprintf("%s ≤ %.0f µs/del", who, t.maxCPU), cpu <= t.maxCPU)
		} else {
			want = append(want, fmt.Sprintf("%s ≤ %.0f µs/del not measured in-process", who, t.maxCPU))
		}
	}
	if t.maxP99 > 0 {
		check(fmt.Sprintf("answer→receipt p99 ≤ %.0f ms", ms(t.maxP99)), res.Latency.P99 <= ms(t.maxP99))
	}
	if t.maxP99FromCall > 0 {
		check(fmt.Sprintf("call→receipt p99 ≤ %.0f ms", ms(t.maxP99FromCall)), res.LatencyFromCall.P99 <= ms(t.maxP99FromCall))
	}
	res.Target, res.TargetMet = strings.Join(want, ", "), &met
}

// cpuPerDelivery is hookd's CPU per delivery, plus every PostgreSQL
// process's on PostgreSQL; false when hookd's was not measured.
func cpuPerDelivery(res *Result, postgres bool) (float64, bool) {
	if res.HookdCPU == nil || (postgres && res.PostgresCPU == nil) {
		return 0, false
	}
	cpu := res.HookdCPU.MicrosPerDelivery
	if postgres {
		cpu += res.PostgresCPU.MicrosPerDelivery
	}
	return cpu, true
}
