-- Every receipt's id and digest, once, for a POST's repeat check: is this
-- receipt new, or sent before (with which body)? Nearly every POST sends a
-- new receipt, so the check mostly learns that none of its ids is here,
-- which reads a granule per id. receipts_by_id (0005) answered it, with
-- granules of 8 192 rows of a receipt's whole status: at 1 000 receipts/s
-- the checks read ~20 MB a second and took ClickHouse a fifth of 2 cores.
-- Here a granule is 1 024 rows of three short columns, about a twentieth
-- of the bytes; a receipt's status is asked of receipts_by_id only when it
-- is a repeat. The primary index keeps a mark per 1 024 rows in memory
-- (some 130 MB a billion receipts, spread over the shards).
CREATE TABLE IF NOT EXISTS {db}.receipt_ids (
    client String,
    id     String,
    digest String  -- hex SHA-256 of the receipt as first sent
) ENGINE = ReplacingMergeTree
ORDER BY (client, id)
SETTINGS index_granularity = 1024;

-- The receipts stored before this table was (a copy stored twice
-- collapses).
INSERT INTO {db}.receipt_ids (client, id, digest)
SELECT client, id, any(digest) FROM {db}.receipts_by_id GROUP BY client, id;
