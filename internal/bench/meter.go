package bench

import (
	"fmt"
	"maps"
	"slices"
)

// CPUUse is the CPU a set of processes spent in a scenario's measured phase.
type CPUUse struct {
	Seconds           float64 `json:"seconds"`
	MicrosPerDelivery float64 `json:"us_per_delivery"`
	Processes         int     `json:"processes"`
}

// meter measures one phase of a scenario: the CPU hookd and PostgreSQL
// spend in it, and the hookd child's peak RSS. In-process, hookd shares the
// bench's process, so it has no CPU figure of its own.
type meter struct {
	pid        int // the hookd child; 0: hookd runs in this process
	postgres   bool
	pgPort     int
	hookdStart uint64
	pgStart    cpuSnapshot
}

// startMeter reads the starting counters and restarts the child's peak-RSS
// counter.
func (env *environment) startMeter(h *hookd) (*meter, error) {
	m := &meter{pid: h.pid, postgres: env.postgresURL != "", pgPort: env.pgPort}
	if m.pid != 0 {
		ticks, err := processCPUTicks(m.pid)
		if err != nil {
			return nil, fmt.Errorf("reading hookd's CPU: %w", err)
		}
		m.hookdStart = ticks
		resetPeakRSS(m.pid)
	}
	if m.postgres {
		m.pgStart = postgresSnapshot()
	}
	return m, nil
}

// finish fills res's CPU and peak-RSS figures for the phase; res.Deliveries
// must already be set.
func (m *meter) finish(res *Result) error {
	use := func(ticks uint64, processes int) *CPUUse {
		u := &CPUUse{Seconds: float64(ticks) / clockTicksPerSecond, Processes: processes}
		if res.Deliveries > 0 {
			u.MicrosPerDelivery = float64(ticks*microsPerTick) / float64(res.Deliveries)
		}
		return u
	}
	if m.pid != 0 {
		ticks, err := processCPUTicks(m.pid)
		if err != nil {
			return fmt.Errorf("reading hookd's CPU: %w", err)
		}
		res.HookdCPU = use(ticks-m.hookdStart, 1)
		res.PeakRSSMiB = peakRSSMiB(m.pid)
	}
	if m.postgres {
		end := postgresSnapshot()
		res.PostgresCPU = use(cpuDelta(m.pgStart, end, nil))
		own := backendsOf(m.pid, m.pgPort, slices.Collect(maps.Keys(end)))
		if own != nil {
			res.PostgresHookdBackendsCPU = use(cpuDelta(m.pgStart, end, func(pid int) bool { return own[pid] }))
		}
	}
	return nil
}
