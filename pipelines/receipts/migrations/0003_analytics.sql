-- Analytics (RC-7, RC-8, RC-11). Every line of every accepted receipt
-- (ration.receipts.registered), ordered for a client's recent receipts and
-- partitioned by month, so a client's period is a range and old months
-- can be moved or dropped whole; a replayed line collapses on merge (read
-- with FINAL, or count distinct (id, line), for exact answers before).
CREATE TABLE IF NOT EXISTS {db}.receipt_lines (
    client      String,
    date        Date,
    id          String,
    line        UInt16,
    type        String,
    received_ms UInt64,
    product     String,
    category    String,
    quantity    Float64,
    price       Float64,
    amount      Float64,
    currency    String
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(date)
ORDER BY (client, date, id, line);

-- The rollups, from the totals view (ration.receipts.totals): each bucket's
-- running totals as absolute values with a version, so the latest version
-- of each (dimensions, bucket) is the total and a replayed row changes
-- nothing. A question's answer is the sum over buckets of the latest rows:
-- see docs/analytics.md.
CREATE TABLE IF NOT EXISTS {db}.receipt_totals_by_day (
    day      Date,
    type     String,
    category String,
    bucket   Int32,
    version  UInt64,
    lines    UInt64,
    quantity Float64,
    amount   Float64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYear(day)
ORDER BY (day, type, category, bucket);

CREATE TABLE IF NOT EXISTS {db}.receipt_totals_by_client_month (
    client   String,
    month    Date,
    type     String,
    bucket   Int32,
    version  UInt64,
    receipts UInt64,
    lines    UInt64,
    amount   Float64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (client, month, type, bucket);
