package storemetrics

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookd/hookd/internal/store"
)

// Source is what the Collector reads: a store.Store has both.
type Source interface {
	Ping(ctx context.Context) error
	QueueStats(ctx context.Context, now time.Time, leaseFor time.Duration) (store.QueueStats, error)
}

const (
	// DefaultMaxAge is how long a reading serves scrapes: scrapes within it
	// (several Prometheus servers, a dashboard's refresh) cost the store
	// nothing.
	DefaultMaxAge = 5 * time.Second
	// DefaultTimeout bounds one reading, like GET /readyz's ping.
	DefaultTimeout = 2 * time.Second
)

// Collector exports store.QueueStats and readiness, read at scrape time at
// most once per MaxAge.
type Collector struct {
	src      Source
	leaseFor time.Duration // the longest lease: see store.Store.QueueStats
	maxAge   time.Duration
	timeout  time.Duration
	now      func() time.Time

	mu       sync.Mutex // held while reading: concurrent scrapes share one reading
	readAt   time.Time
	reading  reading
	failures int // readings without stats, since start
}

// reading is one look at the store.
type reading struct {
	ready bool
	stats *store.QueueStats // nil: QueueStats failed
	at    time.Time
}

var (
	deliveriesDesc = prometheus.NewDesc("hookd_deliveries",
		"Deliveries the store keeps, by state: pending (waiting for its due time or for a lane), leased (an attempt in flight "+
			"under a live lease), succeeded, failed, canceled; every delivery is in one state until retention purges it. "+
			"Read from the store at scrape time: every process sharing a store reports the same values.",
		[]string{"state"}, nil)
	oldestDesc = prometheus.NewDesc("hookd_deliveries_oldest_pending_age_seconds",
		"Age of the oldest delivery in status pending (leased or not), from its creation; 0 when none is pending. "+
			"A delivery stays pending about as long as its retry schedule's waits and attempts take, so a value well "+
			"past that means deliveries are not being made.",
		nil, nil)
	overdueDesc = prometheus.NewDesc("hookd_deliveries_overdue_seconds",
		"How long the most overdue pending delivery has been due without being leased (or since a dead process's lease "+
			"expired); 0 when nothing is due. Grows when the lanes are full or no process is delivering.",
		nil, nil)
	failuresDesc = prometheus.NewDesc("hookd_store_stats_errors_total",
		"Scrape-time readings of the store's delivery statistics that failed or timed out (the hookd_deliveries* gauges "+
			"are left out of the scrapes they serve).",
		nil, nil)
	readyDesc = prometheus.NewDesc("hookd_ready",
		"1 when the store answered a ping within the timeout at the last reading (what GET /readyz answers with 200), else 0.",
		nil, nil)
)

// NewCollector makes a Collector over src and registers it with reg.
// leaseFor is the longest lease the delivery engines take; maxAge and
// timeout of 0 take the defaults.
func NewCollector(reg prometheus.Registerer, src Source, leaseFor, maxAge, timeout time.Duration) (*Collector, error) {
	if maxAge <= 0 {
		maxAge = DefaultMaxAge
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	c := &Collector{src: src, leaseFor: leaseFor, maxAge: maxAge, timeout: timeout, now: time.Now}
	if err := reg.Register(c); err != nil {
		return nil, err
	}
	return c, nil
}

// Describe sends the fixed descriptors.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- deliveriesDesc
	ch <- oldestDesc
	ch <- overdueDesc
	ch <- readyDesc
	ch <- failuresDesc
}

// Collect sends the latest reading, reading the store first when the cached
// one is older than maxAge.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	r, failures := c.read()
	ch <- prometheus.MustNewConstMetric(readyDesc, prometheus.GaugeValue, boolValue(r.ready))
	ch <- prometheus.MustNewConstMetric(failuresDesc, prometheus.CounterValue, float64(failures))
	if r.stats == nil {
		return
	}
	q := r.stats
	for _, s := range []struct {
		state string
		n     int64
	}{{"pending", q.Pending}, {"leased", q.Leased}, {store.StatusSucceeded, q.Succeeded},
		{store.StatusFailed, q.Failed}, {store.StatusCanceled, q.Canceled}} {
		ch <- prometheus.MustNewConstMetric(deliveriesDesc, prometheus.GaugeValue, float64(s.n), s.state)
	}
	ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, ageAt(q.OldestPending, r.at))
	ch <- prometheus.MustNewConstMetric(overdueDesc, prometheus.GaugeValue, ageAt(q.OverdueSince, r.at))
}

// read returns the reading to serve and the failures so far.
func (c *Collector) read() (reading, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if !c.readAt.IsZero() && now.Sub(c.readAt) < c.maxAge {
		return c.reading, c.failures
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	r := reading{at: now, ready: c.src.Ping(ctx) == nil}
	if r.ready { // a store that does not answer a ping would only time out again
		if q, err := c.src.QueueStats(ctx, now, c.leaseFor); err == nil {
			r.stats = &q
		}
	}
	if r.stats == nil {
		c.failures++
	}
	c.reading, c.readAt = r, now
	return r, c.failures
}

// ageAt is how long before at the time t was, in seconds; 0 for nil (and
// for a t after at: clocks of several processes may disagree).
func ageAt(t *time.Time, at time.Time) float64 {
	if t == nil || t.After(at) {
		return 0
	}
	return at.Sub(*t).Seconds()
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
