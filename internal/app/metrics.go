package app

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/hookd/hookd/internal/store/storemetrics"
)

// newRegistry makes the registry GET /metrics serves, with the Go and
// process collectors, hookd_build_info and the store's observer (which the
// store needs before it opens).
func newRegistry() (*prometheus.Registry, *storemetrics.Observer, error) {
	reg := prometheus.NewRegistry()
	buildInfo := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "hookd_build_info",
		Help:        "Always 1; the version label is the running hookd's.",
		ConstLabels: prometheus.Labels{"version": Version},
	})
	buildInfo.Set(1)
	for _, c := range []prometheus.Collector{collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), buildInfo} {
		if err := reg.Register(c); err != nil {
			return nil, nil, err
		}
	}
	obs, err := storemetrics.NewObserver(reg)
	if err != nil {
		return nil, nil, err
	}
	return reg, obs, nil
}
