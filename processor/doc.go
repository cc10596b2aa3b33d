// Package processor is the stage runtime: it turns a pure function from one
// input record to some output records into a Kafka consumer-group member
// that processes exactly once.
//
// Stages are usually built from a pipeline's descriptor (package
// pipeline), which derives every name in Config.
//
// # Buckets and ownership
//
// A stage consumes its input topics in one consumer group. The inputs are
// keyed by the same id and have the same partition count, so bucket p is
// partition p of every input: the group assigns whole buckets to the live
// workers (cooperative-sticky over buckets, copartition.go). A worker that
// dies stops heartbeating and its buckets move to the others when its
// session times out. Every worker has a static instance id, so a crashed
// worker that comes back within the session timeout gets its own buckets
// back without a rebalance.
//
// # Exactly once
//
// Every poll is one Kafka transaction (franz-go's GroupTransactSession): the
// outputs of the batch, and the consumed offsets, commit together or not at
// all. A worker that lost its buckets while it was processing them is fenced
// (KIP-447): its offset commit fails, its transaction aborts, and none of its
// outputs become visible to read_committed consumers. Side effects outside
// Kafka (a checker's HTTP call) can therefore repeat; outputs cannot.
//
// # Status events
//
// With Config.EventsTopic the runtime writes a status event per input
// record, in the batch's transaction: SUCCESS after a stage that is not
// the last, PROCESSED after the last, ERROR for a try that failed
// transiently, REPROCESS when the record is parked, FAILED for bad data or
// a rejection (Reject). A view writes none.
//
// # State
//
// With Config.State a handler gets a State: a key-value store per bucket,
// read and written within the batch, committed with it (see State).
// A view (Config.LanesByPartition) runs one lane per bucket, so its
// handler may keep keys shared by the bucket, such as counters and
// indexes.
//
// # Order and concurrency
//
// Records of one key are processed in order, one at a time; records of
// different keys run concurrently on Concurrency lanes (a key always hashes
// to the same lane). Outputs are produced in input order.
//
// # Priority
//
// With Config.Priority the first topic is the high-priority one. While it
// and another have a backlog, the others are paused, except for a batch
// whenever they have had less than one record in NormalShare: so
// lower-priority work keeps a guaranteed share and never starves (DM-5,
// DM-8). The share is counted in records because batches vary: each is
// what the fetch buffer held of the topics fetched.
//
// # Failures
//
// A handler marks what it knows: ErrPermanent for bad data (the record
// goes to the dead-letter topic, with where it came from and why, and the
// bucket moves on; with Config.Retry a FAILED event records it too),
// ErrTransient for a fault that may pass; an unmarked
// error counts as transient. Without Config.Retry a transient error aborts
// the batch, which is tried again after a pause. With it, the record moves,
// in the batch's transaction, to a delay tier and comes back when due,
// while the bucket and every other key keep flowing; after the last tier
// it is parked for the reprocessor. See Retry for how each key keeps its
// order.
package processor
