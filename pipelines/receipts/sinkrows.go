package receipts

import (
	"fmt"
	"io/fs"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/schemas"
	"github.com/rationhq/ration/sink"
)

// The columns every read-model table has after its key, in one order.
var statusColumns = []string{
	"receipt_id", "type", "content_type", "digest", "tax_registration", "tax_registered_ms",
	"logistics_registration", "accepted_ms", "reason", "parked_stage",
}

var (
	byIDTable       = &sink.Table{Name: "receipts_by_id", Columns: append([]string{"client", "id", "version", "status", "received_ms"}, statusColumns...), Lookup: true}
	byTimeTable     = &sink.Table{Name: "receipts_by_time", Columns: append([]string{"client", "received_ms", "id", "version", "status"}, statusColumns...)}
	byStatusTable   = &sink.Table{Name: "receipts_by_status", Columns: append([]string{"client", "status", "received_ms", "id", "version", "deleted"}, statusColumns...)}
	byReceivedTable = &sink.Table{Name: "receipts_by_received", Columns: byTimeTable.Columns} // the same rows, ordered by time
	documentsTable  = &sink.Table{Name: "receipt_documents", Columns: []string{"client", "id", "digest", "received_ms", "content_type", "document"}}
	idsTable        = &sink.Table{Name: "receipt_ids", Columns: []string{"client", "id", "digest"}}
	linesTable      = &sink.Table{Name: "receipt_lines", Columns: []string{"client", "date", "id", "line", "type", "received_ms",
		"product", "category", "quantity", "price", "amount", "currency"}}
	byDayTable = &sink.Table{Name: "receipt_daily_totals", Columns: []string{"day", "type", "category", "bucket", "version",
		"lines", "quantity", "amount"}}
	byClientMonthTable = &sink.Table{Name: "receipt_totals_by_client_month", Columns: []string{"client", "month", "type", "bucket",
		"version", "receipts", "lines", "amount"}}
)

// sinkMappings store the status view's output in the read model, every
// receipt as it was sent and its id, every line of every accepted receipt and the
// totals view's rollups.
func sinkMappings() []sink.Mapping {
	return []sink.Mapping{
		{Topic: TopicStatuses, Rows: statusRows},
		{Topic: TopicReceived, Rows: receivedRows},
		{Topic: TopicRegistered, Rows: lineRows},
		{Topic: TopicTotals, Rows: totalRows},
	}
}

func lineRows(codec *schemas.Codec, r *kgo.Record) ([]sink.Row, error) {
	var rc Receipt
	if err := codec.Decode(r.Value, &rc); err != nil {
		return nil, err
	}
	s, err := saleOf(rc.Value, rc.ReceivedAt)
	if err != nil {
		return nil, err
	}
	if err := sink.Storable(s.Issued); err != nil {
		return nil, err
	}
	date := s.Issued.Truncate(24 * time.Hour)
	rows := make([]sink.Row, len(s.Lines))
	for i, l := range s.Lines {
		rows[i] = sink.Row{Table: linesTable, Values: []any{rc.Client, date, rc.ID, sink.ClampU16(i), rc.Type,
			uint64(millis(rc.ReceivedAt)), l.Product, l.Category, l.Quantity, l.Price, l.Amount, s.Currency}}
	}
	return rows, nil
}

func totalRows(codec *schemas.Codec, r *kgo.Record) ([]sink.Row, error) {
	var t ReceiptTotal
	if err := codec.Decode(r.Value, &t); err != nil {
		return nil, err
	}
	day, err := time.Parse("2006-01-02", t.Day)
	if err != nil {
		return nil, fmt.Errorf("total %s: day %q: %w", t.Kind, t.Day, err)
	}
	if err := sink.Storable(day); err != nil {
		return nil, err
	}
	switch t.Kind {
	case totalByDay:
		return []sink.Row{{Table: byDayTable, Values: []any{day, t.Type, t.Category, t.Bucket, uint64(t.Version),
			uint64(t.Lines), t.Quantity, t.Amount}}}, nil
	case totalByClientMonth:
		return []sink.Row{{Table: byClientMonthTable, Values: []any{t.Client, day, t.Type, t.Bucket, uint64(t.Version),
			uint64(t.Receipts), uint64(t.Lines), t.Amount}}}, nil
	}
	return nil, fmt.Errorf("a total of kind %q", t.Kind)
}

// receivedRows store a receipt as it was sent, and its id for the repeat
// check.
func receivedRows(codec *schemas.Codec, r *kgo.Record) ([]sink.Row, error) {
	var rc Receipt
	if err := codec.Decode(r.Value, &rc); err != nil {
		return nil, err
	}
	return []sink.Row{
		{Table: documentsTable, Values: []any{rc.Client, rc.ID, rc.Digest, uint64(millis(rc.ReceivedAt)), rc.ContentType, rc.Sent()}},
		{Table: idsTable, Values: []any{rc.Client, rc.ID, rc.Digest}},
	}, nil
}

// statusRows file a receipt's new status in receipts_by_time and
// receipts_by_received, under its status in receipts_by_status (marking it
// gone from the status it left) and in receipts_by_id, the lookup table:
// the sink inserts it last, so a status a lookup shows is on the pages
// already.
func statusRows(codec *schemas.Codec, r *kgo.Record) ([]sink.Row, error) {
	var s ReceiptStatus
	if err := codec.Decode(r.Value, &s); err != nil {
		return nil, err
	}
	v, at := uint64(s.Version), uint64(s.ReceivedAt)
	rest := []any{s.ReceiptID, s.Type, s.ContentType, s.Digest, s.TaxRegistration, uint64(s.TaxRegisteredAt),
		s.LogisticsRegistration, uint64(s.LogisticsRegisteredAt), s.Reason, parkedStage(s)}
	byTime := append([]any{s.Client, at, s.ID, v, s.Status}, rest...)
	rows := []sink.Row{
		{Table: byTimeTable, Values: byTime},
		{Table: byReceivedTable, Values: byTime},
		{Table: byStatusTable, Values: append([]any{s.Client, s.Status, at, s.ID, v, uint8(0)}, rest...)},
	}
	if s.PrevStatus != "" && s.PrevStatus != s.Status {
		rows = append(rows, sink.Row{Table: byStatusTable, Values: append([]any{s.Client, s.PrevStatus, at, s.ID, v, uint8(1)},
			"", "", "", "", "", uint64(0), "", uint64(0), "", "")})
	}
	return append(rows, sink.Row{Table: byIDTable, Values: append([]any{s.Client, s.ID, v, s.Status, at}, rest...)}), nil
}

// parkedStage is the stage a receipt waits at while PARKED.
func parkedStage(s ReceiptStatus) string {
	if Status(s.Status) == StatusParked {
		return s.ParkedStage
	}
	return ""
}

// migrationFS is the pipeline's ClickHouse DDL.
func migrationFS() (fs.FS, error) { return fs.Sub(migrationFiles, "migrations") }
