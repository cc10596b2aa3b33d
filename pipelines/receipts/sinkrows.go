package receipts

import (
	"io/fs"

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
	receiptsTable  = &sink.Table{Name: "receipts", Columns: append([]string{"client", "id", "version", "status", "received_ms"}, statusColumns...)}
	byTimeTable    = &sink.Table{Name: "receipts_by_time", Columns: append([]string{"client", "received_ms", "id", "version", "status"}, statusColumns...)}
	byStatusTable  = &sink.Table{Name: "receipts_by_status", Columns: append([]string{"client", "status", "received_ms", "id", "version", "deleted"}, statusColumns...)}
	documentsTable = &sink.Table{Name: "receipt_documents", Columns: []string{"client", "id", "digest", "received_ms", "content_type", "document"}}
)

// sinkMappings store the status view's output in the read model, and
// every receipt as it was sent.
func sinkMappings() []sink.Mapping {
	return []sink.Mapping{{Topic: TopicStatuses, Rows: statusRows}, {Topic: TopicReceived, Rows: documentRows}}
}

func documentRows(codec *schemas.Codec, r *kgo.Record) ([]sink.Row, error) {
	var rc Receipt
	if err := codec.Decode(r.Value, &rc); err != nil {
		return nil, err
	}
	return []sink.Row{{Table: documentsTable, Values: []any{rc.Client, rc.ID, rc.Digest, uint64(millis(rc.ReceivedAt)),
		rc.ContentType, string(rc.Document)}}}, nil
}

// statusRows file a receipt's new status in receipts, receipts_by_time
// and under its status in receipts_by_status, and mark it gone from the
// status it left.
func statusRows(codec *schemas.Codec, r *kgo.Record) ([]sink.Row, error) {
	var s ReceiptStatus
	if err := codec.Decode(r.Value, &s); err != nil {
		return nil, err
	}
	v, at := uint64(s.Version), uint64(s.ReceivedAt)
	rest := []any{s.ReceiptID, s.Type, s.ContentType, s.Digest, s.TaxRegistration, uint64(s.TaxRegisteredAt),
		s.LogisticsRegistration, uint64(s.LogisticsRegisteredAt), s.Reason, parkedStage(s)}
	rows := []sink.Row{
		{Table: receiptsTable, Values: append([]any{s.Client, s.ID, v, s.Status, at}, rest...)},
		{Table: byTimeTable, Values: append([]any{s.Client, at, s.ID, v, s.Status}, rest...)},
		{Table: byStatusTable, Values: append([]any{s.Client, s.Status, at, s.ID, v, uint8(0)}, rest...)},
	}
	if s.PrevStatus != "" && s.PrevStatus != s.Status {
		rows = append(rows, sink.Row{Table: byStatusTable, Values: append([]any{s.Client, s.PrevStatus, at, s.ID, v, uint8(1)},
			"", "", "", "", "", uint64(0), "", uint64(0), "", "")})
	}
	return rows, nil
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
