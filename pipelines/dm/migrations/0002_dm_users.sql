-- The dm state view's read model (ration.dm.states, ration.dm.counts): what
-- the read API answers from, at the cost of its answer rather than of the
-- whole log. version counts a user's (or a bucket's) changes, so the
-- latest row wins on merge, and until then argMax(..., version) picks it;
-- a replayed row has the same version and changes nothing.

-- Each user's latest state, for a lookup by id.
CREATE TABLE IF NOT EXISTS {db}.dm_users (
    user_id    String,
    version    UInt64,
    state      Enum8('unmarked' = 0, 'pending' = 1, 'parked' = 2, 'checked' = 3, 'failed' = 4),
    priority   String,  -- '' while unmarked
    marked_ms  UInt64,  -- 0 while unmarked
    checked_ms UInt64,  -- 0 unless checked or failed
    open_dm    Int8,    -- -1 unknown, 0 closed, 1 open
    attempts   UInt16
) ENGINE = ReplacingMergeTree(version)
ORDER BY user_id;

-- The same, filed under each state a user is or was in: a user that leaves a
-- state gets a row there with deleted = 1, so a page of one state reads
-- only that state's rows, in user_id order.
CREATE TABLE IF NOT EXISTS {db}.dm_users_by_state (
    /* shard by: cityHash64(user_id) */
    state      Enum8('unmarked' = 0, 'pending' = 1, 'parked' = 2, 'checked' = 3, 'failed' = 4),
    user_id    String,
    version    UInt64,
    deleted    UInt8,
    priority   String,
    marked_ms  UInt64,
    checked_ms UInt64,
    open_dm    Int8,
    attempts   UInt16
) ENGINE = ReplacingMergeTree(version)
ORDER BY (state, user_id);

-- Each bucket's users per state and its oldest waiting mark: the stats are
-- a sum over the buckets' latest rows.
CREATE TABLE IF NOT EXISTS {db}.dm_counts (
    bucket            Int32,
    version           UInt64,
    unmarked          Int64,
    pending           Int64,
    parked            Int64,
    checked           Int64,
    failed            Int64,
    oldest_waiting_ms UInt64  -- 0: none waiting
) ENGINE = ReplacingMergeTree(version)
ORDER BY bucket;
