-- One client's last 30 days, receipt by receipt: a range of the lines
-- table's order (client, date), so it costs what the client's month holds,
-- not what 20 years hold. FINAL collapses a line the sink stored twice.
SELECT id, type, min(date) AS day, count() AS lines, sum(amount) AS total, any(currency) AS currency
FROM {db}.receipt_lines FINAL
WHERE client = {client} AND date >= today() - 30
GROUP BY id, type
ORDER BY day DESC, id
