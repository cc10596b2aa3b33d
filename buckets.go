package ration

import "context"

// BucketsReport is what operators see of the work waiting in each
// pipeline: per stage, its buckets (the partitions of its input topics),
// who owns each and how far behind it is, as of one sample.
type BucketsReport struct {
	// SampledAt is when the offsets behind the report were read.
	SampledAt Timestamp `json:"sampled_at"`
	// RateIntervalSeconds is the time between this sample and the one
	// the rates are measured against; 0 before a second sample, when no
	// rate is known yet.
	RateIntervalSeconds float64           `json:"rate_interval_seconds"`
	Pipelines           []PipelineBuckets `json:"pipelines"`
}

// PipelineBuckets are the stages of one pipeline.
type PipelineBuckets struct {
	Name   string         `json:"name"`
	Stages []StageBuckets `json:"stages"`
}

// StageBuckets is one stage: its consumer group, the group's members and
// its buckets, with totals over the buckets.
type StageBuckets struct {
	Name  string `json:"name"`
	Group string `json:"group"`
	// Members are the group's members by instance id (a worker's
	// --instance-id), or by member id for a member without one; sorted.
	Members []string `json:"members"`
	// Lag is the records waiting in every bucket.
	Lag int64 `json:"lag"`
	// RecordsPerSecond is how fast the group's committed offsets moved,
	// summed over its buckets.
	RecordsPerSecond float64 `json:"records_per_second"`
	// OldestWaitingSeconds is the age of the oldest waiting record of any
	// bucket; 0 when nothing waits.
	OldestWaitingSeconds float64 `json:"oldest_waiting_seconds"`
	// DrainSeconds is Lag / RecordsPerSecond: 0 when nothing waits, nil
	// when records wait and the rate is 0 (no progress, or no rate known
	// yet).
	DrainSeconds *float64 `json:"drain_seconds"`
	Buckets      []Bucket `json:"buckets"`
}

// Bucket is one partition of a stage's input.
type Bucket struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	// Owner is the member the bucket is assigned to, by instance id; ""
	// when no member owns it (no worker runs, or the group rebalances).
	Owner string `json:"owner"`
	// Lag is the records waiting: from the first record after the
	// group's committed offset (or the partition's start, before any
	// commit) to the last stable offset.
	Lag                  int64    `json:"lag"`
	RecordsPerSecond     float64  `json:"records_per_second"`
	OldestWaitingSeconds float64  `json:"oldest_waiting_seconds"`
	DrainSeconds         *float64 `json:"drain_seconds"`
}

// BucketsReader answers the buckets of every pipeline.
type BucketsReader interface {
	// Buckets returns a report no older than the reader's sampling
	// interval.
	Buckets(ctx context.Context) (BucketsReport, error)
}
