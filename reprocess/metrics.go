package reprocess

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the reprocessor's measurements.
type Metrics struct {
	items *prometheus.CounterVec
	runs  *prometheus.CounterVec
}

// NewMetrics registers the reprocessor's metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		items: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ration_reprocess_items_total",
			Help: "Items a committed run acted on, by pipeline and action (resend, fail, wait, missing, unknown).",
		}, []string{"pipeline", "action"}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ration_reprocess_runs_total",
			Help: "Reprocessing runs, by result (done, skipped: outside the window, window_ended: stopped when the window closed, failed: includes fenced by another reprocessor).",
		}, []string{"result"}),
	}
	reg.MustRegister(m.items, m.runs)
	return m
}

func (m *Metrics) item(pipeline string, action Action) {
	if m != nil {
		m.items.WithLabelValues(pipeline, string(action)).Inc()
	}
}

func (m *Metrics) run(result string) {
	if m != nil {
		m.runs.WithLabelValues(result).Inc()
	}
}
