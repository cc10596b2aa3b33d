-- Every status change of every item (each pipeline's ration.<pipeline>.events):
-- the audit trail (RP-7)
-- and the reprocessor's view of latest statuses (RP-5). event_id is the
-- record's topic/partition/offset, so a replayed event collapses on merge.
CREATE TABLE IF NOT EXISTS {db}.events (
    /* shard by: cityHash64(pipeline, item_id) */
    event_id         String,
    item_id          String,
    pipeline         String,
    stage            String,
    status           Enum8('SUCCESS' = 1, 'FAILED' = 2, 'ERROR' = 3, 'REPROCESS' = 4, 'PROCESSED' = 5),
    attempt          UInt16,
    retry_count      UInt16,
    worker           String,
    source_topic     String,
    source_partition Int32,
    source_offset    Int64,
    error_class      String,
    error            String,
    time_ms          UInt64,
    day              Date
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (pipeline, item_id, time_ms, event_id);
