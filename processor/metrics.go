package processor

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rationhq/ration/internal/obs"
)

// Metrics are the runtime's measurements. One Metrics serves every stage of
// a process; stages are told apart by the "pipeline" and "stage" labels.
type Metrics struct {
	records  *prometheus.CounterVec
	batches  *prometheus.CounterVec
	size     *prometheus.HistogramVec
	commit   *prometheus.HistogramVec
	lag      *prometheus.GaugeVec
	assigned *prometheus.GaugeVec
	restore  *prometheus.HistogramVec
	restored *prometheus.CounterVec
	limit    *prometheus.GaugeVec
}

// NewMetrics registers the runtime's metrics on reg, or takes those
// registered on it before: every stage of a process shares them.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ration_stage_records_total",
			Help: "Input records handled, by stage, topic and outcome (committed, rejected, dead_lettered, delayed, waiting, parked, released, dropped, duplicate, aborted; returned: moved back from a delay tier).",
		}, []string{"pipeline", "stage", "topic", "outcome"}),
		batches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ration_stage_transactions_total",
			Help: "Transactions ended, by stage and result (committed, aborted).",
		}, []string{"pipeline", "stage", "result"}),
		size: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ration_stage_batch_records",
			Help:    "Records per transaction.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 8),
		}, []string{"pipeline", "stage"}),
		commit: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ration_stage_commit_seconds",
			Help:    "Time to flush and commit one transaction.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}, []string{"pipeline", "stage"}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ration_stage_lag_records",
			Help: "Records behind the end of each owned partition, as of the last fetch.",
		}, []string{"pipeline", "stage", "topic", "partition"}),
		assigned: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ration_stage_assigned_partitions",
			Help: "Partitions (buckets) this process owns, by stage and topic.",
		}, []string{"pipeline", "stage", "topic"}),
		restore: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ration_stage_restore_seconds",
			Help:    "Time to read the changelog of newly owned buckets into a stateful stage's store.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 14),
		}, []string{"pipeline", "stage"}),
		restored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ration_stage_restored_records_total",
			Help: "Changelog records read into a stateful stage's store.",
		}, []string{"pipeline", "stage"}),
		limit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ration_stage_batch_limit_records",
			Help: "Most records a stage's next batch may take: max-poll-records, less while batches outrun the transaction timeout.",
		}, []string{"pipeline", "stage"}),
	}
	m.records = obs.Register(reg, m.records)
	m.batches = obs.Register(reg, m.batches)
	m.size = obs.Register(reg, m.size)
	m.commit = obs.Register(reg, m.commit)
	m.lag = obs.Register(reg, m.lag)
	m.assigned = obs.Register(reg, m.assigned)
	m.restore = obs.Register(reg, m.restore)
	m.restored = obs.Register(reg, m.restored)
	m.limit = obs.Register(reg, m.limit)
	return m
}

// stageLabels are a stage's pipeline and stage labels.
type stageLabels struct{ pipeline, stage string }

func (m *Metrics) observeBatch(l stageLabels, n int, committed bool, took time.Duration) {
	if m == nil {
		return
	}
	result := "aborted"
	if committed {
		result = "committed"
	}
	m.batches.WithLabelValues(l.pipeline, l.stage, result).Inc()
	m.size.WithLabelValues(l.pipeline, l.stage).Observe(float64(n))
	m.commit.WithLabelValues(l.pipeline, l.stage).Observe(took.Seconds())
}

func (m *Metrics) countRecords(l stageLabels, topic, outcome string, n int) {
	if m == nil || n == 0 {
		return
	}
	m.records.WithLabelValues(l.pipeline, l.stage, topic, outcome).Add(float64(n))
}

func (m *Metrics) setLag(l stageLabels, topic string, partition int32, lag int64) {
	if m == nil {
		return
	}
	m.lag.WithLabelValues(l.pipeline, l.stage, topic, strconv.Itoa(int(partition))).Set(float64(lag))
}

func (m *Metrics) addAssigned(l stageLabels, parts map[string][]int32, sign float64) {
	if m == nil {
		return
	}
	for t, ps := range parts {
		m.assigned.WithLabelValues(l.pipeline, l.stage, t).Add(sign * float64(len(ps)))
		if sign < 0 {
			for _, p := range ps {
				m.lag.DeleteLabelValues(l.pipeline, l.stage, t, strconv.Itoa(int(p)))
			}
		}
	}
}

func (m *Metrics) observeRestore(l stageLabels, records int, took time.Duration) {
	if m == nil {
		return
	}
	m.restore.WithLabelValues(l.pipeline, l.stage).Observe(took.Seconds())
	m.restored.WithLabelValues(l.pipeline, l.stage).Add(float64(records))
}

func (m *Metrics) setBatchLimit(l stageLabels, n int) {
	if m == nil {
		return
	}
	m.limit.WithLabelValues(l.pipeline, l.stage).Set(float64(n))
}
