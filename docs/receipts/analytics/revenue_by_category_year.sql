-- Revenue by category and year, every year there is, from the rollup by day.
SELECT toYear(day) AS year, category, sum(amount) AS amount, sum(lines) AS lines
FROM (
    SELECT day, type, category, bucket, argMax(amount, version) AS amount, argMax(lines, version) AS lines
    FROM {db}.receipt_daily_totals
    GROUP BY day, type, category, bucket
)
GROUP BY year, category
ORDER BY year, category
