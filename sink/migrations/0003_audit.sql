-- Every authenticated write request and client-management action
-- (ration.audit): who, which route, about which client, which answer.
-- Never a key or a password. src is the record's topic/partition/offset,
-- so a replayed record collapses on merge.
CREATE TABLE IF NOT EXISTS {db}.audit (
    src      String,
    client   String,
    method   String,
    route    String,
    target   String,
    status   UInt16,
    time_ms  UInt64,
    day      Date
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (client, time_ms, src);
