-- What customers bought over the New Year holidays (24 December to 7
-- January) in each of the last 20 years, by category: lines, quantity and
-- amount, from the rollup by day. The holidays are named day by day (15
-- days a year), so ClickHouse reads only their rows through the rollup's
-- order, whatever the rest holds. FINAL keeps each bucket's latest total
-- (the highest version, as ReplacingMergeTree's merges do), and the query
-- sums the buckets; on merged parts it costs about half of picking the
-- latest with argMax and GROUP BY (docs/benchmarks.md).
SELECT
    toUInt16(if(toMonth(day) = 12, toYear(day) + 1, toYear(day))) AS new_year,
    category,
    sum(lines)    AS lines,
    sum(quantity) AS quantity,
    sum(amount)   AS amount
FROM {db}.receipt_daily_totals FINAL
WHERE day IN (
    SELECT toDate(concat(toString(toYear(today()) - 20 + k), '-12-24')) + n
    FROM (SELECT arrayJoin(range(21)) AS k)
    ARRAY JOIN range(15) AS n
)
GROUP BY new_year, category
ORDER BY new_year, category
