-- The ledger's reads by key, in one partition each. The tables of 0001 are
-- partitioned by month, and a read by group, user or command cannot tell
-- which months hold its rows, so it read a granule of every month stored
-- (240 over 20 years); and a page of a group's or a user's history read
-- every entry of theirs before its cursor, to sort them. Here a group's
-- page reads the entries it returns (a group's entries are numbered from
-- 1 without gaps, so a page is a range of numbers), a user's page the
-- user's entries of a time window before its cursor, a poll one granule
-- of each part, and background merges keep the parts few however many
-- months the tables hold.
--
-- points_ledger, points_ledger_by_user and points_commands are no longer
-- written from this migration on; they stay so that a binary from before
-- it still finds the tables it reads, and can be dropped once none runs
-- (README, "Upgrading the points tables").

-- Every applied command, in each group's order: a group's history, and the
-- ledger a balance must equal.
CREATE TABLE IF NOT EXISTS {db}.points_group_ledger (
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
ORDER BY (group_id, seq);

-- The same entries by user: a user's history across their groups.
CREATE TABLE IF NOT EXISTS {db}.points_user_ledger (
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
ORDER BY (user_id, at_ms, group_id, seq);

-- Every command's one outcome, applied or rejected: what a poll of a
-- command answers once the API that took it no longer waits.
CREATE TABLE IF NOT EXISTS {db}.points_command_outcomes (
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
ORDER BY (group_id, id);

-- Which groups each user created or joined: a user's groups without
-- reading their whole history.
CREATE TABLE IF NOT EXISTS {db}.points_memberships (
    user_id  String,
    group_id String,
    at_ms    UInt64  -- when they joined
) ENGINE = ReplacingMergeTree()
ORDER BY (user_id, group_id);

-- What was stored before these tables were (a copy stored twice collapses).
INSERT INTO {db}.points_group_ledger (group_id, seq, at_ms, kind, command_id, issuer, user_id, points, balance, charged,
    discount, detail)
SELECT group_id, seq, at_ms, kind, command_id, issuer, user_id, points, balance, charged, discount, detail
FROM {db}.points_ledger;

INSERT INTO {db}.points_user_ledger (user_id, at_ms, group_id, seq, kind, command_id, issuer, points, balance, charged,
    discount, detail)
SELECT user_id, at_ms, group_id, seq, kind, command_id, issuer, points, balance, charged, discount, detail
FROM {db}.points_ledger_by_user;

INSERT INTO {db}.points_command_outcomes (group_id, id, at_ms, outcome, reason, command_id, issuer, kind, user_id, points,
    balance, seq, charged, discount, detail, digest)
SELECT group_id, id, at_ms, outcome, reason, command_id, issuer, kind, user_id, points, balance, seq, charged, discount,
    detail, digest
FROM {db}.points_commands;

INSERT INTO {db}.points_memberships (user_id, group_id, at_ms)
SELECT user_id, group_id, at_ms FROM {db}.points_ledger_by_user WHERE kind IN ('create', 'join');
