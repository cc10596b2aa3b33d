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
	return m
}

func (m *Metrics) observe(r *Result) {
	if m == nil {
		return
	}
	m.results.WithLabelValues(string(r.Status), string(r.Priority)).Inc()
	m.latency.WithLabelValues(string(r.Priority)).Observe(r.CheckedAt.Sub(r.MarkedAt).Seconds())
}

func (m *Metrics) attempt(err error) {
	if m == nil {
		return
	}
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.attempts.WithLabelValues(outcome).Inc()
}
