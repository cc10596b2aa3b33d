-- Every receipt as it was sent (ration.receipts.received), for
-- GET /v1/receipts/{id}/document. A second body under an id is kept too,
-- under its own digest; the read model's digest says which is the receipt.
CREATE TABLE IF NOT EXISTS {db}.receipt_documents (
    client       String,
    id           String,
    digest       String,
    received_ms  UInt64,
    content_type String,
    document     String
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(toDate(toDateTime(intDiv(received_ms, 1000))))
ORDER BY (client, id, digest);
