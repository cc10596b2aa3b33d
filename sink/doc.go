// Package sink stores what flows through Kafka in ClickHouse, where people
// and the read API look at it: every pipeline's topics as the pipeline's
// descriptor maps them, the shared status events and the audit log.
//
// # Writing
//
// A Sink is one member of a consumer group over the topics of its Layout.
// A Mapping turns each record of a topic into rows of Tables; each
// pipeline brings its Migrations (its own NNNN_name.sql DDL), applied after
// the shared ones. The sink reads read_committed, so the records of
// aborted stage transactions never reach ClickHouse. It buffers rows per
// partition and flushes when Config.BatchRows records are buffered or
// Config.FlushInterval after the oldest arrived. A flush inserts one batch
// per table and commits the consumed offsets only once every insert
// succeeded: delivery is at-least-once. While ClickHouse is down the flush
// retries with capped backoff and the sink polls nothing; no row is
// dropped. A record that does not decode is logged and skipped, so one
// bad record never stops the sink.
//
// Rebalances wait while a flush runs (kgo.BlockRebalanceOnPoll), so a
// commit never names a partition the member lost. Between flushes a revoked
// partition's buffered rows are dropped; its next owner reads them again.
// An outage longer than the group's rebalance timeout, while another
// member joins, gets this member removed; its stored but uncommitted rows
// are then read again, which is harmless (see below).
//
// # Replays change no answer
//
// At-least-once means a batch may be stored twice (a crash between insert
// and commit, a rebalance, a new group). Every row carries its record's
// Src (topic/partition/offset) or a version in its sorting key; the tables
// are ReplacingMergeTree, so duplicates collapse on merge, and until they
// do the read queries use aggregates that a duplicate cannot change (max,
// argMax). `SELECT ... FINAL` counts collapse at once.
//
// # Tables
//
// The shared tables are events (every status change of every pipeline's
// items: the audit trail and the reprocessor's view, RP-5) and audit
// (every authenticated write). Reader answers item histories, the
// reprocessor's candidates and the audit log from them; a pipeline reads
// its own tables itself. The shared DDL lives in migrations/*.sql, applied
// in order by Migrate and recorded in schema_migrations; Open, Sink.Run
// and OpenReader run it, with the pipelines' (recorded in
// pipeline_migrations).
//
// The DDL runs on ClickHouse 18.16 and on current releases: no TTL,
// LowCardinality, DateTime64, Map or JSON types; inserts name their columns;
// the native protocol only.
package sink
