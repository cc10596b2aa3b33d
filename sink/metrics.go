package sink

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the sink's Prometheus series (namespace ration_sink).
type metrics struct {
	rowsInserted *prometheus.CounterVec // by table
	insertErrors *prometheus.CounterVec // by table
	decodeErrors *prometheus.CounterVec // by topic
	commitErrors prometheus.Counter     //
	batchRows    prometheus.Histogram   // rows per flush
	flushSeconds prometheus.Histogram   // from taking a batch to its commit
	lag          *prometheus.GaugeVec   // by topic, partition
	flushes      prometheus.Counter     //
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		rowsInserted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "ration", Subsystem: "sink", Name: "rows_inserted_total",
			Help: "Rows inserted into ClickHouse, by table (a replay counts again).",
		}, []string{"table"}),
		insertErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "ration", Subsystem: "sink", Name: "insert_errors_total",
			Help: "Failed insert attempts, by table; each is retried.",
		}, []string{"table"}),
		decodeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "ration", Subsystem: "sink", Name: "decode_errors_total",
			Help: "Records skipped because they did not decode or could not be stored, by topic.",
		}, []string{"topic"}),
		commitErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "ration", Subsystem: "sink", Name: "commit_errors_total",
			Help: "Offset commits that failed after their rows were stored (the rows are read again).",
		}),
		batchRows: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "ration", Subsystem: "sink", Name: "batch_rows",
			Help:    "Rows per flush.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 9), // 1 .. 65 536
		}),
		flushSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "ration", Subsystem: "sink", Name: "flush_seconds",
			Help:    "Time from starting a flush to committing its offsets, retries included.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10), // 1 ms .. 4 min
		}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "ration", Subsystem: "sink", Name: "lag_records",
			Help: "Records behind the last stable offset at the latest fetch, by partition.",
		}, []string{"topic", "partition"}),
		flushes: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "ration", Subsystem: "sink", Name: "flushes_total",
			Help: "Flushes whose rows were all stored.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.rowsInserted, m.insertErrors, m.decodeErrors, m.commitErrors,
			m.batchRows, m.flushSeconds, m.lag, m.flushes)
	}
	return m
}

func (m *metrics) dropLag(lost map[string][]int32) {
	for topic, ids := range lost {
		for _, id := range ids {
			m.lag.DeleteLabelValues(topic, strconv.Itoa(int(id)))
		}
	}
}
