// Package storemetrics exports the store to Prometheus: what the store's
// writer did (Observer: commit rounds, deliveries created) and what it holds
// (Collector: deliveries per state, the oldest pending, the most overdue,
// readiness), read at scrape time from store.QueueStats and Ping with a
// timeout and a short cache, so a storm of scrapes cannot load the store.
package storemetrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookd/hookd/internal/store"
)

// Observer is a store.Observer that counts into Prometheus collectors.
type Observer struct {
	rounds        *prometheus.CounterVec
	roundFailures prometheus.Counter
	roundCalls    *prometheus.HistogramVec
	roundDuration *prometheus.HistogramVec
	created       *prometheus.CounterVec
}

var _ store.Observer = (*Observer)(nil)

// NewObserver registers the writer's metrics with reg.
func NewObserver(reg prometheus.Registerer) (*Observer, error) {
	o := &Observer{
		rounds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookd_store_commit_rounds_total",
			Help: "Group-commit rounds committed: the writes of several callers sharing one transaction and one commit. " +
				"mode=sync: the commit waited for the disk flush (ingest, administration); mode=async: queue bookkeeping only " +
				"(leases on SQLite, outcomes), committed without waiting for it.",
		}, []string{"mode"}),
		roundFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookd_store_commit_round_failures_total",
			Help: "Group-commit rounds that failed as a whole (every caller in them got the error).",
		}),
		roundCalls: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "hookd_store_commit_round_calls",
			Help: "Callers' writes per committed round (SQLite: every write; PostgreSQL: ingest and outcome calls). " +
				"One ingest call may carry a batch of events and one outcome call many outcomes.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
		}, []string{"mode"}),
		roundDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hookd_store_commit_round_duration_seconds",
			Help:    "Duration of committed rounds, transaction start to commit done (the flush included for mode=sync): what every caller in the round waited for its write.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"mode"}),
		created: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookd_deliveries_created_total",
			Help: "Deliveries created, counted at commit, by event type and source (ingest: task events fanned out; " +
				"redeliver; test; recover: redeliveries of a recover call).",
		}, []string{"source", "event_type"}),
	}
	for _, c := range []prometheus.Collector{o.rounds, o.roundFailures, o.roundCalls, o.roundDuration, o.created} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return o, nil
}

func roundMode(sync bool) string {
	if sync {
		return "sync"
	}
	return "async"
}

// CommitRound counts a round.
func (o *Observer) CommitRound(r store.Round) {
	if r.Err != nil {
		o.roundFailures.Inc()
		return
	}
	mode := roundMode(r.Sync)
	o.rounds.WithLabelValues(mode).Inc()
	o.roundCalls.WithLabelValues(mode).Observe(float64(r.Calls))
	o.roundDuration.WithLabelValues(mode).Observe(r.Duration.Seconds())
}

// DeliveriesCreated counts new deliveries.
func (o *Observer) DeliveriesCreated(source, eventType string, n int) {
	o.created.WithLabelValues(source, eventType).Add(float64(n))
}
