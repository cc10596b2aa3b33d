// Package buckets shows operators the buckets of every pipeline stage: who
// owns each, how much waits in it, how fast it drains. It reads only what
// Kafka already keeps (group descriptions, committed and end offsets, the
// oldest waiting records) through the admin API; workers report nothing.
//
// # What a bucket is
//
// A stage consumes its input topics in one consumer group; each partition
// of an input topic is a bucket. The group assigns each bucket to one
// member, so the partitions are the limit of a stage's parallelism: a
// member beyond them owns nothing. Workers are static members, so the
// owner is named by its instance id (a member without one, by member id).
//
// # What is measured
//
// Lag is what waits: from the first record at or after the group's
// committed offset (the partition's start before any commit) to the last
// stable offset, the end a read_committed worker sees. Transaction markers
// take offsets without being work, so a bucket whose waiting offsets are
// only markers (or aborted records) has lag 0, and lag counts from the
// first real record. The age of that record (its timestamp against the
// sample's time) is the bucket's oldest waiting age. The rate is how far
// the committed offsets moved between two samples, per second; drain time
// is lag over rate, unknown (nil) when records wait and nothing moves.
//
// # Sampling
//
// Inspector.Run samples every Config.Interval, so a rate is always at
// hand and a request costs nothing; a request finding no sample younger
// than the interval samples at once. The same samples feed Prometheus
// gauges, one series per bucket or stage: cardinality stays partitions ×
// stages.
//
// Dependencies: the root package ration (the report's types), franz-go's
// kgo and kadm, and Prometheus.
package buckets
