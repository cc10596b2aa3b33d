package receipts

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/rationhq/ration/internal/kafkatest"
	"github.com/rationhq/ration/schemas"
	"github.com/rationhq/ration/sink"
)

// BenchmarkAdminPage times the first page (1 000) of every client's
// receipts of the last 30 days with N receipts stored over those days, as
// the reader asks it (receipts_by_received a range at a time) and as it did
// before that table (the baseline: the period of receipts_by_time, which
// leads with the client, sorted for the page's bound), in the same run.
//
//	go test -run '^$' -bench AdminPage -benchtime 20x ./pipelines/receipts
func BenchmarkAdminPage(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		conn, db := openDB(b)
		codec := kafkatest.Codec(b, kafkatest.Setup{Records: []schemas.Record{new(ReceiptStatus)}})
		now := time.Now()
		start := now.Add(-30 * 24 * time.Hour)
		ctx := context.Background()
		rows := make([]sink.Row, 0, 4*100_000)
		for i := range n {
			client := "c" + strconv.Itoa(i%1000)
			rid := "R-" + strconv.Itoa(i)
			s := ReceiptStatus{ID: ID(client, rid), Client: client, ReceiptID: rid, Type: "retail", Status: string(StatusAccepted),
				ReceivedAt: start.Add(time.Duration(i) * (30 * 24 * time.Hour) / time.Duration(n)).UnixMilli(), Version: 1}
			rs := statusRowsOf(b, codec, s)
			if rows = append(rows, rs...); len(rows) >= cap(rows)-8 || i == n-1 {
				if err := sink.Insert(ctx, conn, db, rows); err != nil {
					b.Fatal(err)
				}
				rows = rows[:0]
			}
		}
		reader, err := NewReader(conn, db)
		if err != nil {
			b.Fatal(err)
		}
		f := Filter{From: start, To: now.Add(time.Minute), Limit: 1000}
		b.Run(fmt.Sprintf("receipts=%d/by_received", n), func(b *testing.B) {
			for b.Loop() {
				if p, err := reader.List(ctx, f); err != nil || len(p.Receipts) != f.Limit {
					b.Fatal(len(p.Receipts), err)
				}
			}
		})
		b.Run(fmt.Sprintf("receipts=%d/baseline", n), func(b *testing.B) {
			for b.Loop() {
				if got, err := baselineAdminPage(ctx, reader, f); err != nil || got != f.Limit+1 {
					b.Fatal(got, err)
				}
			}
		})
	}
}

// baselineAdminPage is how the reader answered an admin's first page before
// receipts_by_received: the page's bound from receipts_by_time's rows of the
// period, then the range up to it aggregated.
func baselineAdminPage(ctx context.Context, r *Reader, f Filter) (int, error) {
	from, to := uint64(f.From.UnixMilli()), uint64(f.To.UnixMilli())
	var boundMs uint64
	var boundID string
	if err := r.conn.QueryRow(ctx, fmt.Sprintf(`SELECT received_ms, id FROM %s.receipts_by_time
WHERE received_ms >= ? AND received_ms < ? ORDER BY received_ms, id LIMIT %d, 1`, r.qdb, f.Limit), from, to).Scan(&boundMs, &boundID); err != nil {
		return 0, err
	}
	views, err := r.views(ctx, fmt.Sprintf(`SELECT id, `+latest+` FROM %s.receipts_by_time
WHERE received_ms >= ? AND received_ms < ? AND (received_ms < ? OR (received_ms = ? AND id <= ?))
GROUP BY id ORDER BY argMax(received_ms, version), id LIMIT %d`, r.qdb, f.Limit+1), from, to, boundMs, boundMs, boundID)
	return len(views), err
}
