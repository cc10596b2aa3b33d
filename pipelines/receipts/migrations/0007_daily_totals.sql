-- The rollup by day (0003's receipt_totals_by_day) without its partitions
-- by year. A question over the rollup reads it with FINAL (or argMax per
-- bucket), and ClickHouse 18.16 folds the versions of FINAL in one sorted
-- merge of every part it reads: the New Year question read a part or more
-- of each of 21 yearly partitions, where merges keep this table in a few
-- parts, however many years it holds. On a rollup of 20 full years (7 million
-- rows, one part against 21), the New Year question took 42 ms against 70-150;
-- as loaded, 56-230 against 330-690 (docs/benchmarks.md). A partition
-- would let old years be dropped whole, which a rollup of a few hundred
-- MB for 20 years does not need.
--
-- receipt_totals_by_day is no longer written from this migration on; it
-- stays so that a sink of the version before still finds its table, and
-- can be dropped once none runs (README, "Upgrading to
-- receipt_daily_totals").
CREATE TABLE IF NOT EXISTS {db}.receipt_daily_totals (
    day      Date,
    type     String,
    category String,
    bucket   Int32,
    version  UInt64,
    lines    UInt64,
    quantity Float64,
    amount   Float64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (day, type, category, bucket);

-- The totals stored before this table was (a copy stored twice
-- collapses).
INSERT INTO {db}.receipt_daily_totals (day, type, category, bucket, version, lines, quantity, amount)
SELECT day, type, category, bucket, version, lines, quantity, amount FROM {db}.receipt_totals_by_day;
