-- One row per DM record: registrations (ration.dm.users), marks
-- (ration.dm.checks, ration.dm.checks.high) and results (ration.dm.results).
-- src is the record's topic/partition/offset: a replayed record has the same
-- sorting key and collapses on merge, and the read queries aggregate with
-- max/argMax, which a duplicate row cannot change.
CREATE TABLE IF NOT EXISTS {db}.dm_user_log (
    user_id      String,
    kind         Enum8('register' = 1, 'mark' = 2, 'result' = 3),
    ts_ms        UInt64,  -- registered_at, marked_at or checked_at, unix ms
    marked_at_ms UInt64,  -- marks and results: the mark's marked_at; 0 otherwise
    priority     Enum8('normal' = 0, 'high' = 1),
    status       Enum8('none' = 0, 'checked' = 1, 'failed' = 2),
    open_dm      Int8,    -- -1 unknown, 0 closed, 1 open
    attempts     UInt16,
    worker       String,
    error        String,
    src          String,
    day          Date
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (user_id, kind, ts_ms, src);
