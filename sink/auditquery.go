package sink

import (
	"context"
	"fmt"
	"time"

	"github.com/rationhq/ration"
)

var _ ration.AuditReader = (*Reader)(nil)

// Audit returns the audit entries q selects, newest first. A replayed
// record is stored twice until ClickHouse merges; the query collapses
// copies by src.
func (r *Reader) Audit(ctx context.Context, q ration.AuditQuery) ([]ration.AuditEntry, error) {
	if q.Limit < 1 {
		return nil, fmt.Errorf("audit: limit %d < 1", q.Limit)
	}
	var since uint64
	if !q.Since.IsZero() && q.Since.UnixMilli() > 0 {
		since = uint64(q.Since.UnixMilli())
	}
	query := "SELECT any(client), any(method), any(route), any(target), any(status), any(time_ms) FROM " + r.qdb +
		".audit WHERE time_ms >= ? AND (? = '' OR client = ?) GROUP BY src ORDER BY any(time_ms) DESC, src DESC LIMIT ?"
	rows, err := r.conn.Query(ctx, query, since, q.Client, q.Client, uint64(q.Limit))
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	defer rows.Close()
	var out []ration.AuditEntry
	for rows.Next() {
		var (
			e      ration.AuditEntry
			status uint16
			ms     uint64
		)
		if err := rows.Scan(&e.Client, &e.Method, &e.Route, &e.Target, &status, &ms); err != nil {
			return nil, fmt.Errorf("audit: %w", err)
		}
		e.Status = int(status)
		e.Time = ration.Timestamp{Time: time.UnixMilli(int64(ms)).UTC()}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return out, nil
}
