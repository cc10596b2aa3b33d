package processor

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the runtime's measurements. One Metrics serves every stage of
// a process; stages are told apart by the "stage" label.
type Metrics struct {
	records  *prometheus.CounterVec
	batches  *prometheus.CounterVec
	size     *prometheus.HistogramVec
	commit   *prometheus.HistogramVec
	lag      *prometheus.GaugeVec
	assigned *prometheus.GaugeVec
}

// NewMetrics registers the runtime's metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ration_stage_records_total",
			Help: "Input records handled, by stage, topic and outcome (committed, dead_lettered, delayed, waiting, parked, aborted; returned: moved back from a delay tier).",
		}, []string{"stage", "topic", "outcome"}),
		batches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ration_stage_transactions_total",
			Help: "Transactions ended, by stage and result (committed, aborted).",
		}, []string{"stage", "result"}),
		size: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ration_stage_batch_records",
			Help:    "Records per transaction.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 8),
		}, []string{"stage"}),
		commit: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ration_stage_commit_seconds",
			Help:    "Time to flush and commit one transaction.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}, []string{"stage"}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ration_stage_lag_records",
			Help: "Records behind the end of each owned partition, as of the last fetch.",
		}, []string{"stage", "topic", "partition"}),
		assigned: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ration_stage_assigned_partitions",
			Help: "Partitions (buckets) this process owns, by stage and topic.",
		}, []string{"stage", "topic"}),
	}
	reg.MustRegister(m.records, m.batches, m.size, m.commit, m.lag, m.assigned)
	return m
}

func (m *Metrics) observeBatch(stage string, n int, committed bool, took time.Duration) {
	if m == nil {
		return
	}
	result := "aborted"
	if committed {
		result = "committed"
	}
	m.batches.WithLabelValues(stage, result).Inc()
	m.size.WithLabelValues(stage).Observe(float64(n))
	m.commit.WithLabelValues(stage).Observe(took.Seconds())
}

func (m *Metrics) countRecords(stage, topic, outcome string, n int) {
	if m == nil || n == 0 {
		return
	}
	m.records.WithLabelValues(stage, topic, outcome).Add(float64(n))
}

func (m *Metrics) setLag(stage, topic string, partition int32, lag int64) {
	if m == nil {
		return
	}
	m.lag.WithLabelValues(stage, topic, strconv.Itoa(int(partition))).Set(float64(lag))
}

func (m *Metrics) addAssigned(stage string, parts map[string][]int32, sign float64) {
	if m == nil {
		return
	}
	for t, ps := range parts {
		m.assigned.WithLabelValues(stage, t).Add(sign * float64(len(ps)))
		if sign < 0 {
			for _, p := range ps {
				m.lag.DeleteLabelValues(stage, t, strconv.Itoa(int(p)))
			}
		}
	}
}
