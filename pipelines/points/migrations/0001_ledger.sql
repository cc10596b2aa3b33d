-- The points ledger as the ledger stage decided it (ration.points.outcomes
-- and ration.points.groups). A replayed record writes the same row again:
-- tables are ReplacingMergeTree keyed by what identifies a row, and reads
-- collapse duplicates (LIMIT 1 BY, argMax) until merges have. Times are
-- milliseconds since the epoch.

-- Every applied command, in each group's order: a group's history, and the
-- ledger a balance must equal.
CREATE TABLE IF NOT EXISTS {db}.points_ledger (
    group_id   String,
    seq        UInt64,  -- the group's entry number, from 1
    at_ms      UInt64,
    kind       Enum8('create' = 1, 'join' = 2, 'bill' = 3, 'redeem' = 4),
    command_id String,
    issuer     String,  -- who sent the command (the staff member of a bill)
    user_id    String,  -- who joined, was billed or redeemed
    points     Int64,   -- the balance's change: earned > 0, spent < 0
    balance    Int64,   -- the balance after it
    charged    Int64,   -- a bill's cents after discounts
    discount   Int64,   -- a bill's cents taken off
    detail     String
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(toDate(toDateTime(intDiv(at_ms, 1000))))
ORDER BY (group_id, seq);

-- The same entries by user: a user's history across their groups.
CREATE TABLE IF NOT EXISTS {db}.points_ledger_by_user (
    user_id    String,
    at_ms      UInt64,
    group_id   String,
    seq        UInt64,
    kind       Enum8('create' = 1, 'join' = 2, 'bill' = 3, 'redeem' = 4),
    command_id String,
    issuer     String,
    points     Int64,
    balance    Int64,
    charged    Int64,
    discount   Int64,
    detail     String
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(toDate(toDateTime(intDiv(at_ms, 1000))))
ORDER BY (user_id, at_ms, group_id, seq);

-- Every command's one outcome, applied or rejected: what a poll of a
-- command answers once the API that took it no longer waits.
CREATE TABLE IF NOT EXISTS {db}.points_commands (
    group_id   String,
    id         String,  -- <issuer>/<command_id>
    at_ms      UInt64,
    outcome    Enum8('applied' = 1, 'rejected' = 2),
    reason     String,
    command_id String,
    issuer     String,
    kind       Enum8('create' = 1, 'join' = 2, 'bill' = 3, 'redeem' = 4),
    user_id    String,
    points     Int64,
    balance    Int64,
    seq        UInt64,
    charged    Int64,
    discount   Int64,
    detail     String,
    digest     String
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(toDate(toDateTime(intDiv(at_ms, 1000))))
ORDER BY (group_id, id);

-- Each group after its last change: the latest seq wins.
CREATE TABLE IF NOT EXISTS {db}.points_groups (
    group_id   String,
    seq        UInt64,
    name       String,
    location   String,
    balance    Int64,
    members    Array(String),
    created_ms UInt64,
    updated_ms UInt64
) ENGINE = ReplacingMergeTree(seq)
ORDER BY group_id;
