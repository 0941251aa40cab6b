package delivery

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are always collected; they are exported only when
// Config.Registerer is set.
type metrics struct {
	attempts      *prometheus.CounterVec
	duration      prometheus.Histogram
	leased        *prometheus.CounterVec
	slots         prometheus.Gauge
	inFlight      prometheus.Gauge
	firstAttempt  prometheus.Histogram
	recordFailure prometheus.Counter
	// outcomesDropped counts outcomes given up after their lease expired
	// (or at shutdown): those attempts will be made again.
	outcomesDropped prometheus.Counter
	leaseRounds     prometheus.Counter
	abandoned       prometheus.Counter
	identitiesLost  prometheus.Counter
	reaped          prometheus.Counter
	recovered       prometheus.Counter
	// succeeded and failed count deliveries that ended, by event type.
	succeeded *prometheus.CounterVec
	failed    *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookd_delivery_attempts_total",
			Help: "Delivery attempts by outcome class (succeeded, http_status, redirect, timeout, connection, tls, dns, refused, other).",
		}, []string{"outcome"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hookd_delivery_attempt_duration_seconds",
			Help:    "Duration of delivery attempts, request sent to response read.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		leased: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookd_delivery_leased_total",
			Help: "Deliveries leased for an attempt, by path (dispatcher: lease round; ingest: leased inside the ingest transaction).",
		}, []string{"path"}),
		slots: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hookd_delivery_slots_reserved",
			Help: "Deliveries this process holds: in flight, waiting in a lane's window, or being leased.",
		}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hookd_delivery_in_flight",
			Help: "Delivery attempts in flight.",
		}),
		firstAttempt: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hookd_delivery_first_attempt_latency_seconds",
			Help:    "Time from a delivery's creation (ingest, redeliver, test) to the start of its first attempt.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		recordFailure: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookd_delivery_record_failures_total",
			Help: "Failed calls to record attempt outcomes in the store (each is retried).",
		}),
		outcomesDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookd_delivery_outcomes_dropped_total",
			Help: "Attempt outcomes the store would not take before their lease expired; those attempts are made again.",
		}),
		leaseRounds: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookd_delivery_lease_rounds_total",
			Help: "Lease rounds of the dispatcher (store calls that lease due deliveries).",
		}),
		abandoned: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookd_delivery_attempts_abandoned_total",
			Help: "Attempts cut short because this process lost its proof of life as a lease owner; they are made again.",
		}),
		identitiesLost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookd_delivery_owner_identities_lost_total",
			Help: "Times this process lost its proof of life as a lease owner (its store session died) and registered anew.",
		}),
		reaped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookd_delivery_leases_taken_over_total",
			Help: "Leases of dead processes voided by this process so their deliveries are sent again at once.",
		}),
		recovered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookd_delivery_recovered_total",
			Help: "Redeliveries created by this process for accepted recover calls.",
		}),
		succeeded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookd_deliveries_succeeded_total",
			Help: "Deliveries that ended succeeded, by event type, as recorded by this process.",
		}, []string{"event_type"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookd_deliveries_failed_total",
			Help: "Deliveries that ended failed after their last attempt (the retry schedule used up), by event type, as recorded by this process.",
		}, []string{"event_type"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.attempts, m.duration, m.leased, m.slots, m.inFlight, m.firstAttempt,
		m.recordFailure, m.outcomesDropped, m.leaseRounds, m.abandoned, m.identitiesLost, m.reaped, m.recovered,
		m.succeeded, m.failed} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
