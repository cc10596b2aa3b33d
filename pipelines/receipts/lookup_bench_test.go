package receipts

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/rationhq/ration/internal/chserver/chtest"
	"github.com/rationhq/ration/internal/kafkatest"
	"github.com/rationhq/ration/schemas"
	"github.com/rationhq/ration/sink"
)

// BenchmarkLookup times a receipt's lookup by id (GET /v1/receipts/{id})
// and a POST's repeat check of a batch of 100 new receipts, with N
// receipts of 1 000 clients stored over 20 years. A lookup reads
// receipts_by_id (one partition) and, as the baseline in the same run,
// receipts, partitioned by month, which lookups read before migration
// 0005. A repeat check reads receipt_ids (0006) and, as its baseline,
// receipts_by_id, which it read before. Each table's active parts are
// reported as parts.
//
//	go test -run '^$' -bench Lookup -benchtime 200x ./pipelines/receipts
func BenchmarkLookup(b *testing.B) {
	const clients, years, batch = 1000, 20, 100
	for _, n := range []int{100_000, 1_000_000} {
		conn, db := openDB(b)
		codec := kafkatest.Codec(b, kafkatest.Setup{Records: []schemas.Record{new(ReceiptStatus)}})
		monthly := &sink.Table{Name: "receipts", Columns: byIDTable.Columns}
		ctx := context.Background()
		span := years * 365 * 24 * time.Hour
		start := time.Now().Add(-span)
		rows := make([]sink.Row, 0, 200_000)
		for i := range n { // in time order, as a pipeline stores them
			client, rid := "c"+strconv.Itoa(i%clients), "R-"+strconv.Itoa(i)
			s := ReceiptStatus{ID: ID(client, rid), Client: client, ReceiptID: rid, Type: "retail", Status: string(StatusAccepted),
				ReceivedAt: start.Add(time.Duration(i) * (span / time.Duration(n))).UnixMilli(), Version: 1}
			for _, r := range statusRowsOf(b, codec, s) {
				if r.Table == byIDTable {
					rows = append(rows, r, sink.Row{Table: monthly, Values: r.Values})
				}
			}
			rows = append(rows, sink.Row{Table: idsTable, Values: []any{s.Client, s.ID, s.Digest}})
			if len(rows) == cap(rows) || i == n-1 {
				if err := sink.Insert(ctx, conn, db, rows); err != nil {
					b.Fatal(err)
				}
				rows = rows[:0]
			}
		}
		chtest.AwaitMerges(b, conn, db)
		reader, err := NewReader(conn, db)
		if err != nil {
			b.Fatal(err)
		}
		baseline := *reader
		baseline.lookup = reader.qdb + "." + monthly.Name
		baseline.ids = reader.lookup
		r := rand.New(rand.NewPCG(uint64(n), 5))
		for _, way := range []struct {
			name    string
			reader  *Reader
			table   string
			repeats string // what a repeat check reads
		}{{"by_id", reader, byIDTable.Name, idsTable.Name}, {"monthly", &baseline, monthly.Name, byIDTable.Name}} {
			parts := chtest.ActiveParts(b, conn, db, way.table)
			b.Run(fmt.Sprintf("receipts=%d/lookup/%s", n, way.name), func(b *testing.B) {
				for b.Loop() {
					i := r.IntN(n)
					client := "c" + strconv.Itoa(i%clients)
					if v, err := way.reader.Receipt(ctx, client, ID(client, "R-"+strconv.Itoa(i))); err != nil || v.Status != StatusAccepted {
						b.Fatal(v, err)
					}
				}
				b.ReportMetric(float64(parts), "parts")
			})
			parts = chtest.ActiveParts(b, conn, db, way.repeats)
			b.Run(fmt.Sprintf("receipts=%d/repeats/%s", n, way.repeats), func(b *testing.B) {
				keys := make([]receiptKey, batch)
				for b.Loop() {
					for k := range keys {
						client := "c" + strconv.Itoa(r.IntN(clients))
						keys[k] = receiptKey{client, ID(client, "new-"+strconv.Itoa(r.IntN(1<<30)))}
					}
					if found, err := way.reader.digests(ctx, keys); err != nil || len(found) != 0 {
						b.Fatal(found, err)
					}
				}
				b.ReportMetric(float64(parts), "parts")
			})
		}
	}
}
