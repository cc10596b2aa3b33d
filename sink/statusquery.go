package sink

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/rationhq/ration"
)

var _ ration.ItemStatusReader = (*Reader)(nil)

// candidatesSQL selects reprocessing candidates after a cursor. It is the
// item_status view's aggregation (migration 0005) over only the items that
// have at least one event that could make them a candidate: a candidate's
// latest event is such an event, so the pre-filter drops none, and it
// takes every event of the items it keeps, so their latest status is
// exact. The pre-filter reads three narrow columns; the aggregation then
// reads the wide ones of the few items it kept, through the primary key
// (pipeline, item_id). Against the view itself a page re-aggregated every
// event of every item: 5 s a page at a million items on 18.16, 0.3 s so.
//
// Arguments: stuck-before, status twice, pipeline twice, since, cursor
// (pipeline twice, item), once for the pre-filter and once for the answer.
const candidatesSQL = `SELECT pipeline, item_id, stage, toString(status), attempt, retry_count, error,
    source_topic, source_partition, source_offset, changed_ms
FROM (
    SELECT
        pipeline,
        item_id,
        argMax(stage, tuple(time_ms, event_id))            AS stage,
        argMax(status, tuple(time_ms, event_id))           AS status,
        argMax(attempt, tuple(time_ms, event_id))          AS attempt,
        argMax(retry_count, tuple(time_ms, event_id))      AS retry_count,
        argMax(error, tuple(time_ms, event_id))            AS error,
        argMax(source_topic, tuple(time_ms, event_id))     AS source_topic,
        argMax(source_partition, tuple(time_ms, event_id)) AS source_partition,
        argMax(source_offset, tuple(time_ms, event_id))    AS source_offset,
        max(time_ms)                                       AS changed_ms
    FROM %[1]s.events
    WHERE (pipeline, item_id) IN (
        SELECT pipeline, item_id FROM %[1]s.events
        WHERE status IN ('REPROCESS', 'ERROR', 'SUCCESS')
          AND (? = '' OR toString(status) = ?)
          AND (? = '' OR pipeline = ?)
          AND time_ms >= ?
          AND (pipeline > ? OR (pipeline = ? AND item_id > ?)))
    GROUP BY pipeline, item_id
)
WHERE (status = 'REPROCESS' OR (status IN ('ERROR', 'SUCCESS') AND changed_ms < ?))
  AND (? = '' OR toString(status) = ?)
  AND changed_ms >= ?
ORDER BY pipeline, item_id
LIMIT %[2]d`

// ReprocessCandidates implements ration.ItemStatusReader.
func (r *Reader) ReprocessCandidates(ctx context.Context, sel ration.ReprocessSelection, afterPipeline, afterItem string, limit int) ([]ration.ItemStatus, error) {
	var since uint64
	if !sel.Since.IsZero() {
		since = uint64(max(sel.Since.UnixMilli(), 0))
	}
	rows, err := r.conn.Query(ctx, fmt.Sprintf(candidatesSQL, r.qdb, limit),
		sel.Status, sel.Status, sel.Pipeline, sel.Pipeline, since, afterPipeline, afterPipeline, afterItem,
		uint64(max(sel.StuckBefore.UnixMilli(), 0)), sel.Status, sel.Status, since)
	if err != nil {
		return nil, fmt.Errorf("reprocess candidates: %w", err)
	}
	defer rows.Close()
	var out []ration.ItemStatus
	for rows.Next() {
		var (
			it                  ration.ItemStatus
			attempt, retryCount uint16
			ms                  uint64
		)
		if err := rows.Scan(&it.Pipeline, &it.ItemID, &it.Stage, &it.Status, &attempt, &retryCount, &it.Error,
			&it.SourceTopic, &it.SourcePartition, &it.SourceOffset, &ms); err != nil {
			return nil, fmt.Errorf("reprocess candidates: %w", err)
		}
		it.Attempt, it.RetryCount = int(attempt), int(retryCount)
		it.Changed = time.UnixMilli(int64(ms)).UTC()
		out = append(out, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reprocess candidates: %w", err)
	}
	return out, nil
}

// LastChanged implements ration.ItemStatusReader.
func (r *Reader) LastChanged(ctx context.Context, items []ration.ItemKey) (map[ration.ItemKey]time.Time, error) {
	out := make(map[ration.ItemKey]time.Time, len(items))
	if len(items) == 0 {
		return out, nil
	}
	keys := make([]clickhouse.GroupSet, len(items))
	for i, it := range items {
		keys[i] = clickhouse.GroupSet{Value: []any{it.Pipeline, it.ItemID}}
	}
	rows, err := r.conn.Query(ctx, `SELECT pipeline, item_id, max(time_ms) FROM `+r.qdb+`.events
WHERE (pipeline, item_id) IN (?)
GROUP BY pipeline, item_id`, keys)
	if err != nil {
		return nil, fmt.Errorf("last changed: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			k  ration.ItemKey
			ms uint64
		)
		if err := rows.Scan(&k.Pipeline, &k.ItemID, &ms); err != nil {
			return nil, fmt.Errorf("last changed: %w", err)
		}
		out[k] = time.UnixMilli(int64(ms)).UTC()
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("last changed: %w", err)
	}
	return out, nil
}
