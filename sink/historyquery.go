package sink

import (
	"context"
	"fmt"
	"time"

	"github.com/rationhq/ration"
)

var _ ration.HistoryReader = (*Reader)(nil)

// ItemHistory implements ration.HistoryReader. Grouping by event_id
// collapses a replayed event that ClickHouse has not merged away yet; the
// condition on day leaves out the months before since.
func (r *Reader) ItemHistory(ctx context.Context, pipeline, itemID string, since time.Time) ([]ration.ItemEvent, error) {
	query := `SELECT any(stage), toString(any(status)), any(attempt), any(retry_count), any(worker),
    any(source_topic), any(source_partition), any(source_offset), any(error_class), any(error), any(time_ms)
FROM ` + r.qdb + `.events
WHERE pipeline = ? AND item_id = ? AND day >= toDate(?)
GROUP BY event_id
ORDER BY any(time_ms), any(source_offset), event_id`
	if since.Before(time.Unix(0, 0)) {
		since = time.Unix(0, 0) // the first day a Date holds
	}
	rows, err := r.conn.Query(ctx, query, pipeline, itemID, since.UTC().Format(time.DateOnly))
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	defer rows.Close()
	out := []ration.ItemEvent{}
	for rows.Next() {
		var (
			e                   = ration.ItemEvent{ItemID: itemID, Pipeline: pipeline}
			attempt, retryCount uint16
			ms                  uint64
		)
		if err := rows.Scan(&e.Stage, &e.Status, &attempt, &retryCount, &e.Worker, &e.SourceTopic,
			&e.SourcePartition, &e.SourceOffset, &e.ErrorClass, &e.Error, &ms); err != nil {
			return nil, fmt.Errorf("history: %w", err)
		}
		e.Attempt, e.RetryCount = int(attempt), int(retryCount)
		e.Time = ration.Timestamp{Time: time.UnixMilli(int64(ms)).UTC()}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	return out, nil
}
