-- item_status gains the record behind each item's latest event (its source
-- topic, partition and offset): the reprocessor sends that record again.
-- A view holds no data, so it is replaced.
DROP TABLE IF EXISTS {db}.item_status;
CREATE VIEW IF NOT EXISTS {db}.item_status AS
SELECT
    pipeline,
    item_id,
    argMax(stage, tuple(time_ms, event_id))            AS stage,
    argMax(status, tuple(time_ms, event_id))           AS status,
    argMax(attempt, tuple(time_ms, event_id))          AS attempt,
    argMax(retry_count, tuple(time_ms, event_id))      AS retry_count,
    argMax(worker, tuple(time_ms, event_id))           AS worker,
    argMax(error_class, tuple(time_ms, event_id))      AS error_class,
    argMax(error, tuple(time_ms, event_id))            AS error,
    argMax(source_topic, tuple(time_ms, event_id))     AS source_topic,
    argMax(source_partition, tuple(time_ms, event_id)) AS source_partition,
    argMax(source_offset, tuple(time_ms, event_id))    AS source_offset,
    max(time_ms)                                       AS changed_ms
FROM {db}.events
GROUP BY pipeline, item_id;
