-- Every client's receipts in the order they were received, as in
-- receipts_by_time: the rows of an admin's page of every client's
-- receipts. receipts_by_time leads with the client, so a period of every
-- client's would be read whole; this table reads the page's time range
-- and no more.
CREATE TABLE IF NOT EXISTS {db}.receipts_by_received (
    /* shard by: cityHash64(client) */
    received_ms            UInt64,
    id                     String,
    client                 String,
    version                UInt64,
    receipt_id             String,
    type                   String,
    content_type           String,
    digest                 String,  -- hex SHA-256 of the receipt as first sent
    status                 Enum8('RECEIVED' = 1, 'TAX_REGISTERED' = 2, 'LOGISTICS_REGISTERED' = 3, 'ACCEPTED' = 4,
                                 'REJECTED' = 5, 'PARKED' = 6, 'FAILED' = 7),
    tax_registration       String,
    tax_registered_ms      UInt64,
    logistics_registration String,
    accepted_ms            UInt64,
    reason                 String,
    parked_stage           String
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(toDate(toDateTime(intDiv(received_ms, 1000))))
ORDER BY (received_ms, id);

-- The receipts stored before this table was (a copy stored twice collapses).
INSERT INTO {db}.receipts_by_received (received_ms, id, client, version, receipt_id, type, content_type, digest, status,
    tax_registration, tax_registered_ms, logistics_registration, accepted_ms, reason, parked_stage)
SELECT received_ms, id, client, version, receipt_id, type, content_type, digest, status,
    tax_registration, tax_registered_ms, logistics_registration, accepted_ms, reason, parked_stage
FROM {db}.receipts_by_time;
