// Package sink stores what flows through Kafka in ClickHouse, where people
// and the read API look at it, and answers the DM read queries.
//
// # Writing
//
// A Sink is one member of a consumer group over every ration topic. It
// reads read_committed, so the records of aborted stage transactions never
// reach ClickHouse. It buffers rows per partition and flushes when
// Config.BatchRows records are buffered or Config.FlushInterval after the
// oldest arrived. A flush inserts one batch per table and commits the
// consumed offsets only once every insert succeeded: delivery is
// at-least-once. While ClickHouse is down the flush retries with capped
// backoff and the sink polls nothing; no row is dropped. A record that does
// not decode is logged and skipped, so one bad record never stops the sink.
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
// and commit, a rebalance, a new group). Every row carries src, the
// topic/partition/offset of its record, in its sorting key; the tables are
// ReplacingMergeTree, so duplicates collapse on merge, and until they do
// the read queries use aggregates that a duplicate cannot change (max,
// argMax). `SELECT ... FINAL` counts collapse at once.
//
// # Tables
//
// dm_user_log holds one row per DM registration, mark and result; a user's
// state (unmarked, pending, checked, failed) is computed from its rows by
// the Reader. events holds every status event (the audit trail). The
// schema lives in migrations/*.sql, applied in order by Migrate and
// recorded in schema_migrations; Open, Sink.Run and OpenReader run it.
//
// The DDL runs on ClickHouse 18.16 and on current releases: no TTL,
// LowCardinality, DateTime64, Map or JSON types; inserts name their columns;
// the native protocol only.
package sink
