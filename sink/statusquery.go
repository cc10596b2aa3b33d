package sink

import (
	"context"
	"fmt"
	"time"

	"github.com/rationhq/ration"
)

var _ ration.ItemStatusReader = (*Reader)(nil)

// ReprocessCandidates implements ration.ItemStatusReader from the
// item_status view.
func (r *Reader) ReprocessCandidates(ctx context.Context, sel ration.ReprocessSelection, afterPipeline, afterItem string, limit int) ([]ration.ItemStatus, error) {
	query := `SELECT pipeline, item_id, stage, toString(status), attempt, retry_count, error,
    source_topic, source_partition, source_offset, changed_ms
FROM ` + r.qdb + `.item_status
WHERE (status = 'REPROCESS' OR (status IN ('ERROR', 'SUCCESS') AND changed_ms < ?))
  AND (? = '' OR toString(status) = ?)
  AND (? = '' OR pipeline = ?)
  AND changed_ms >= ?
  AND (pipeline > ? OR (pipeline = ? AND item_id > ?))
ORDER BY pipeline, item_id
LIMIT ` + fmt.Sprint(limit)
	var since uint64
	if !sel.Since.IsZero() {
		since = uint64(max(sel.Since.UnixMilli(), 0))
	}
	rows, err := r.conn.Query(ctx, query, uint64(max(sel.StuckBefore.UnixMilli(), 0)),
		sel.Status, sel.Status, sel.Pipeline, sel.Pipeline, since, afterPipeline, afterPipeline, afterItem)
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
