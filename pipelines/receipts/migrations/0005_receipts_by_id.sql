-- Each receipt's latest status for a lookup by id (GET /v1/receipts/{id},
-- a POST's repeat check), in one partition. receipts (0001) is
-- partitioned by month, and a lookup by (client, id) cannot tell which
-- month holds the receipt, so it read a granule of every month stored:
-- 240 over 20 years, a cost that grew with history, not with the answer.
-- Here a lookup reads a granule of each part, and background merges keep
-- the parts few however many months the table holds.
--
-- receipts is no longer written from this migration on; it stays so that
-- a binary from before it still finds the table it reads, and can be
-- dropped once none runs (README, "Upgrading to receipts_by_id").
CREATE TABLE IF NOT EXISTS {db}.receipts_by_id (
    client                 String,
    id                     String,
    version                UInt64,
    receipt_id             String,
    type                   String,
    content_type           String,
    digest                 String,  -- hex SHA-256 of the receipt as first sent
    status                 Enum8('RECEIVED' = 1, 'TAX_REGISTERED' = 2, 'LOGISTICS_REGISTERED' = 3, 'ACCEPTED' = 4,
                                 'REJECTED' = 5, 'PARKED' = 6, 'FAILED' = 7),
    received_ms            UInt64,
    tax_registration       String,
    tax_registered_ms      UInt64,
    logistics_registration String,
    accepted_ms            UInt64,
    reason                 String,
    parked_stage           String
) ENGINE = ReplacingMergeTree(version)
ORDER BY (client, id);

-- The receipts stored before this table was, from receipts_by_time, which
-- holds the same rows (a copy stored twice collapses).
INSERT INTO {db}.receipts_by_id (client, id, version, receipt_id, type, content_type, digest, status, received_ms,
    tax_registration, tax_registered_ms, logistics_registration, accepted_ms, reason, parked_stage)
SELECT client, id, version, receipt_id, type, content_type, digest, status, received_ms,
    tax_registration, tax_registered_ms, logistics_registration, accepted_ms, reason, parked_stage
FROM {db}.receipts_by_time;
