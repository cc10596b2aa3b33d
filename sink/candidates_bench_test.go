package sink

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rationhq/ration"
)

// BenchmarkReprocessCandidates times one page (1 000 items) of the
// reprocessor's selection over 3 million events of a million items of the
// test pipeline, one in a thousand parked: the query it runs
// (pre-filtered) against the same selection from the item_status view
// (the baseline), in the same run. Both must find the same items.
//
//	go test -run '^$' -bench ReprocessCandidates ./sink
func BenchmarkReprocessCandidates(b *testing.B) {
	r, _ := newReader(b)
	ctx := context.Background()
	const base = 1_750_000_000_000
	fill := fmt.Sprintf(`INSERT INTO %[1]s.events
SELECT toString(number), concat('item', toString(number %% 1000000)), '%[3]s', 'copy',
       if(number %% 1000 = 7, 'REPROCESS', 'PROCESSED'), 1, 0, 'w1', '%[4]s', 0, number,
       '', 'upstream: 503 Service Unavailable', %[2]d + number, toDate('2025-06-15')
FROM system.numbers LIMIT 3000000`, r.qdb, base, testPipeline, testInput)
	if err := r.conn.Exec(ctx, fill); err != nil {
		b.Fatal(err)
	}
	sel := ration.ReprocessSelection{StuckBefore: time.UnixMilli(base)}

	baseline := `SELECT pipeline, item_id, stage, toString(status), attempt, retry_count, error,
    source_topic, source_partition, source_offset, changed_ms
FROM ` + r.qdb + `.item_status
WHERE (status = 'REPROCESS' OR (status IN ('ERROR', 'SUCCESS') AND changed_ms < ?))
  AND (pipeline > '' OR (pipeline = '' AND item_id > ''))
ORDER BY pipeline, item_id
LIMIT 1000`
	// baselineItems runs the baseline and returns the items it found.
	baselineItems := func() []string {
		rows, err := r.conn.Query(ctx, baseline, uint64(base))
		if err != nil {
			b.Fatal(err)
		}
		defer rows.Close()
		var items []string
		for rows.Next() {
			var it ration.ItemStatus
			var status string
			var attempt, retryCount uint16
			var ms uint64
			if err := rows.Scan(&it.Pipeline, &it.ItemID, &it.Stage, &status, &attempt, &retryCount, &it.Error,
				&it.SourceTopic, &it.SourcePartition, &it.SourceOffset, &ms); err != nil {
				b.Fatal(err)
			}
			items = append(items, it.Pipeline+"/"+it.ItemID)
		}
		if err := rows.Err(); err != nil || len(items) != 1000 {
			b.Fatalf("%d rows, %v", len(items), err)
		}
		return items
	}
	// The pre-filter must select what the view does.
	want := baselineItems()
	got, err := r.ReprocessCandidates(ctx, sel, "", "", 1000)
	if err != nil {
		b.Fatal(err)
	}
	for i, it := range got {
		if it.Pipeline+"/"+it.ItemID != want[i] {
			b.Fatalf("candidate %d is %s/%s, the view's %s", i, it.Pipeline, it.ItemID, want[i])
		}
	}

	b.Run("baseline-view", func(b *testing.B) {
		for b.Loop() {
			baselineItems()
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
