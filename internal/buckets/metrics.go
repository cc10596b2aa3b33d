package buckets

import (
	"math"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rationhq/ration"
)

// metrics exposes the latest report as gauges. They are built from the
// report at each scrape rather than kept in gauge vectors, so a bucket
// that changed owner or a topic that lost a stage leaves no stale series,
// and one scrape never mixes two samples.
type metrics struct {
	latest  func() *ration.BucketsReport
	samples *prometheus.CounterVec
}

var (
	bucketLabels = []string{"pipeline", "stage", "topic", "partition"}
	stageLabels  = []string{"pipeline", "stage"}

	bucketLagDesc = prometheus.NewDesc("ration_bucket_lag_records",
		"Records waiting in each bucket (partition) of a stage's input, as of the last sample.", bucketLabels, nil)
	bucketOwnerDesc = prometheus.NewDesc("ration_bucket_owner_info",
		"1 for the member (by instance id) that owns each bucket; a bucket with no series has no owner.",
		[]string{"pipeline", "stage", "topic", "partition", "owner"}, nil)
	stageMembersDesc = prometheus.NewDesc("ration_stage_members",
		"Members of each stage's consumer group; those beyond its buckets own none.", stageLabels, nil)
	stageRateDesc = prometheus.NewDesc("ration_stage_records_per_second",
		"Records per second the stage's group committed between the last two samples (absent before the second).", stageLabels, nil)
	stageOldestDesc = prometheus.NewDesc("ration_stage_oldest_waiting_seconds",
		"Age of the oldest record waiting in any bucket of the stage; 0 when none waits.", stageLabels, nil)
	stageDrainDesc = prometheus.NewDesc("ration_stage_drain_seconds",
		"Seconds to drain the stage's lag at its current rate; +Inf when records wait and nothing moves (absent before the second sample).", stageLabels, nil)
	sampledDesc = prometheus.NewDesc("ration_buckets_sampled_timestamp_seconds",
		"Unix time of the last sample of the buckets.", nil, nil)
)

func newMetrics(reg prometheus.Registerer, latest func() *ration.BucketsReport) (*metrics, error) {
	m := &metrics{latest: latest, samples: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ration_buckets_samples_total",
		Help: "Samples of the buckets, by result (ok, failed).",
	}, []string{"result"})}
	for _, c := range []prometheus.Collector{m, m.samples} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) countSample(err error) {
	if m == nil {
		return
	}
	result := "ok"
	if err != nil {
		result = "failed"
	}
	m.samples.WithLabelValues(result).Inc()
}

// Describe implements prometheus.Collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{bucketLagDesc, bucketOwnerDesc, stageMembersDesc, stageRateDesc, stageOldestDesc, stageDrainDesc, sampledDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	r := m.latest()
	if r == nil {
		return
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	gauge(sampledDesc, float64(r.SampledAt.UnixMilli())/1000)
	rated := r.RateIntervalSeconds > 0
	for _, p := range r.Pipelines {
		for _, s := range p.Stages {
			gauge(stageMembersDesc, float64(len(s.Members)), p.Name, s.Name)
			gauge(stageOldestDesc, s.OldestWaitingSeconds, p.Name, s.Name)
			if rated {
				gauge(stageRateDesc, s.RecordsPerSecond, p.Name, s.Name)
				d := math.Inf(1)
				if s.DrainSeconds != nil {
					d = *s.DrainSeconds
				}
				gauge(stageDrainDesc, d, p.Name, s.Name)
			}
			for _, b := range s.Buckets {
				part := strconv.Itoa(int(b.Partition))
				gauge(bucketLagDesc, float64(b.Lag), p.Name, s.Name, b.Topic, part)
				if b.Owner != "" {
					gauge(bucketOwnerDesc, 1, p.Name, s.Name, b.Topic, part, b.Owner)
				}
			}
		}
	}
}
