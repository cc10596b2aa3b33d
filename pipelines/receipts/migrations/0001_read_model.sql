-- The receipts' read model, from the status view (ration.receipts.statuses):
-- a receipt's status after every change, version counting its changes, so
-- the latest row wins on merge and until then argMax(..., version) picks it;
-- a replayed row has the same version and changes nothing. Times are
-- milliseconds since the epoch, 0 for never. Tables are partitioned by the
-- month a receipt was received, so old months can be moved or dropped whole.

-- Each receipt's latest status, for a lookup by id (a client reads its own).
CREATE TABLE IF NOT EXISTS {db}.receipts (
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
PARTITION BY toYYYYMM(toDate(toDateTime(intDiv(received_ms, 1000))))
ORDER BY (client, id);

-- The same rows in time order, for a client's receipts of a period.
CREATE TABLE IF NOT EXISTS {db}.receipts_by_time (
    client                 String,
    received_ms            UInt64,
    id                     String,
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
ORDER BY (client, received_ms, id);

-- The same filed under each status a receipt is or was in: one that leaves
-- a status gets a row there with deleted = 1, so a client's receipts in one
-- status over a period read only that status's rows.
CREATE TABLE IF NOT EXISTS {db}.receipts_by_status (
    client                 String,
    status                 Enum8('RECEIVED' = 1, 'TAX_REGISTERED' = 2, 'LOGISTICS_REGISTERED' = 3, 'ACCEPTED' = 4,
                                 'REJECTED' = 5, 'PARKED' = 6, 'FAILED' = 7),
    received_ms            UInt64,
    id                     String,
    version                UInt64,
    deleted                UInt8,
    receipt_id             String,
    type                   String,
    content_type           String,
    digest                 String,  -- hex SHA-256 of the receipt as first sent
    tax_registration       String,
    tax_registered_ms      UInt64,
    logistics_registration String,
    accepted_ms            UInt64,
    reason                 String,
    parked_stage           String
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(toDate(toDateTime(intDiv(received_ms, 1000))))
ORDER BY (client, status, received_ms, id);
