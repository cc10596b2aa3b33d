// Package pipeline describes a pipeline once, in a Descriptor, and derives
// everything else from it: its topics (with partitions, compaction and
// value schemas) and the runtime's topics of each stage (delay tiers,
// parked items, dead letters, changelog), consumer groups, transactional
// ids, worker ACLs, the stage runtime's configuration, status-event
// topics and the sink's topic-to-table mappings.
//
// # Names
//
// A pipeline has one name (dm, receipts, points) and each of its stages
// one name (check, tax, ledger). Every derived name starts with
// "ration.<pipeline>.<stage>.":
//
//	consumer group        ration.<pipeline>.<stage>
//	transactional ids     ration.<pipeline>.<stage>.<instance id>
//	                      ration.<pipeline>.<stage>.delay.<n>.<instance id>
//	delay tier n          ration.<pipeline>.<stage>.delay.<n>   (group ration.<pipeline>.<stage>.delay.<n>)
//	parked items          ration.<pipeline>.<stage>.parked
//	dead letters          ration.<pipeline>.<stage>.dead
//	state and retry loop  ration.<pipeline>.<stage>.changelog   (compacted)
//
// and the pipeline's status events go to ration.<pipeline>.events.
//
// # Stages and views
//
// Stages are an item's path: a stage's outputs are the next stage's
// inputs, each stage its own consumer group with its own retries, delay
// tiers, parking and dead letters. The runtime writes each item's status
// events: SUCCESS when it leaves a stage that is not the last, PROCESSED
// at the last, ERROR, REPROCESS or FAILED on the way. A view is a stage
// that folds records into state (a read model) and writes no status
// events; it is no step of an item's path.
//
// # Buckets
//
// All of a pipeline's topics are keyed by the same business id and have
// as many partitions as each other, so partition p of every topic is one
// bucket, and one worker owns bucket p of a stage's every input.
package pipeline
