package sink

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rationhq/ration"
)

// BenchmarkReprocessCandidates times one page (1 000 items) of the
// reprocessor's selection over 3 million events of a million items, one in
// a thousand parked: the query it runs (pre-filtered) against the same
// selection from the item_status view (the baseline), in the same run.
//
//	go test -run '^$' -bench ReprocessCandidates ./sink
func BenchmarkReprocessCandidates(b *testing.B) {
	r, _ := newReader(b)
	ctx := context.Background()
	const base = 1_750_000_000_000
	fill := fmt.Sprintf(`INSERT INTO %[1]s.events
SELECT toString(number), concat('item', toString(number %% 1000000)), 'dm', 'check',
       if(number %% 1000 = 7, 'REPROCESS', 'PROCESSED'), 1, 0, 'w1', 'ration.dm.checks', 0, number,
       '', 'checker: 503 Service Unavailable', %[2]d + number, toDate('2025-06-15')
FROM system.numbers LIMIT 3000000`, r.qdb, base)
	if err := r.conn.Exec(ctx, fill); err != nil {
		b.Fatal(err)
	}
	sel := ration.ReprocessSelection{StuckBefore: time.UnixMilli(base)}

	b.Run("baseline-view", func(b *testing.B) {
		q := `SELECT pipeline, item_id, stage, toString(status), attempt, retry_count, error,
    source_topic, source_partition, source_offset, changed_ms
FROM ` + r.qdb + `.item_status
WHERE (status = 'REPROCESS' OR (status IN ('ERROR', 'SUCCESS') AND changed_ms < ?))
  AND (pipeline > '' OR (pipeline = '' AND item_id > ''))
ORDER BY pipeline, item_id
LIMIT 1000`
		for b.Loop() {
			rows, err := r.conn.Query(ctx, q, uint64(base))
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for rows.Next() {
				n++
			}
			if err := rows.Err(); err != nil || n != 1000 {
				b.Fatalf("%d rows, %v", n, err)
			}
			rows.Close()
		}
	})
	b.Run("prefiltered", func(b *testing.B) {
		for b.Loop() {
			items, err := r.ReprocessCandidates(ctx, sel, "", "", 1000)
			if err != nil || len(items) != 1000 {
				b.Fatalf("%d items, %v", len(items), err)
			}
		}
	})
}
