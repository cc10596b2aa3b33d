package dm

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rationhq/ration/internal/obs"
)

// Metrics measure the DM pipeline. One Metrics serves every worker of a
// process. Values are observed when a result is made, before its
// transaction commits, so an aborted batch is counted again when redone.
type Metrics struct {
	results  *prometheus.CounterVec
	attempts *prometheus.CounterVec
	latency  *prometheus.HistogramVec

	// The series every check touches, looked up once: a label lookup
	// hashes its values, per result.
	checked, failed map[Priority]prometheus.Counter
	latencyOf       map[Priority]prometheus.Observer
	ok, errored     prometheus.Counter
}

// newMetrics registers the pipeline's metrics on reg, or takes those
// registered before.
func newMetrics(reg prometheus.Registerer) *Metrics {
	if reg == nil {
		return nil
	}
	m := &Metrics{
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ration_dm_results_total",
			Help: "DM check results made, by status (checked, failed) and priority.",
		}, []string{"status", "priority"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ration_dm_check_attempts_total",
			Help: "Calls to the checker, by outcome (ok, error).",
		}, []string{"outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ration_dm_mark_to_result_seconds",
			Help:    "Time from a user's mark to its result, by priority.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 16),
		}, []string{"priority"}),
	}
	m.results = obs.Register(reg, m.results)
	m.attempts = obs.Register(reg, m.attempts)
	m.latency = obs.Register(reg, m.latency)
	m.checked, m.failed = make(map[Priority]prometheus.Counter), make(map[Priority]prometheus.Counter)
	m.latencyOf = make(map[Priority]prometheus.Observer)
	for _, p := range []Priority{PriorityNormal, PriorityHigh} {
		m.checked[p] = m.results.WithLabelValues(string(ResultChecked), string(p))
		m.failed[p] = m.results.WithLabelValues(string(ResultFailed), string(p))
		m.latencyOf[p] = m.latency.WithLabelValues(string(p))
	}
	m.ok, m.errored = m.attempts.WithLabelValues("ok"), m.attempts.WithLabelValues("error")
	return m
}

func (m *Metrics) observe(r *Result) {
	if m == nil {
		return
	}
	byPriority := m.checked
	if r.Status == ResultFailed {
		byPriority = m.failed
	}
	c, ok := byPriority[r.Priority]
	if !ok {
		c = m.results.WithLabelValues(string(r.Status), string(r.Priority))
	}
	c.Inc()
	o, ok := m.latencyOf[r.Priority]
	if !ok {
		o = m.latency.WithLabelValues(string(r.Priority))
	}
	o.Observe(r.CheckedAt.Sub(r.MarkedAt).Seconds())
}

func (m *Metrics) attempt(err error) {
	if m == nil {
		return
	}
	if err != nil {
		m.errored.Inc()
		return
	}
	m.ok.Inc()
}
