-- The latest status of every item (RP-5): its latest stage and status, the
-- time of its latest change (changed_ms) and its retry count, from the events
-- table.
-- A plain view: the events' own key makes the aggregation cheap per item,
-- and argMax over (time_ms, event_id) cannot be changed by a replay.
CREATE VIEW IF NOT EXISTS {db}.item_status AS
SELECT
    pipeline,
    item_id,
    argMax(stage, tuple(time_ms, event_id))       AS stage,
    argMax(status, tuple(time_ms, event_id))      AS status,
    argMax(attempt, tuple(time_ms, event_id))     AS attempt,
    argMax(retry_count, tuple(time_ms, event_id)) AS retry_count,
    argMax(worker, tuple(time_ms, event_id))      AS worker,
    argMax(error_class, tuple(time_ms, event_id)) AS error_class,
    argMax(error, tuple(time_ms, event_id))       AS error,
    max(time_ms)                                  AS changed_ms
FROM {db}.events
GROUP BY pipeline, item_id
