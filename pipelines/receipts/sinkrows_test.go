package receipts

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/internal/kafkatest"
	"github.com/rationhq/ration/schemas"
	"github.com/rationhq/ration/sink"
)

// TestStatusRowsFileTheLookupLast: a status change's row in receipts (the
// lookup) comes after its rows in the page tables, so the sink inserts it
// last and a status a lookup shows is on the pages already.
func TestStatusRowsFileTheLookupLast(t *testing.T) {
	codec := kafkatest.Codec(t, kafkatest.Setup{Records: []schemas.Record{new(ReceiptStatus)}})
	for _, prev := range []Status{"", StatusTaxRegistered} {
		s := ReceiptStatus{ID: ID("shop", "R-1"), Client: "shop", ReceiptID: "R-1", Type: "retail",
			Status: string(StatusAccepted), PrevStatus: string(prev), Version: 3}
		rows := statusRowsOf(t, codec, s)
		for i, r := range rows {
			if last := i == len(rows)-1; (r.Table == receiptsTable) != last {
				t.Fatalf("after %q: row %d of %d is in %s", prev, i+1, len(rows), r.Table.Name)
			}
		}
	}
}

// statusRowsOf returns the rows the sink stores for status s, made from
// its record as the sink makes them.
func statusRowsOf(t testing.TB, codec *schemas.Codec, s ReceiptStatus) []sink.Row {
	t.Helper()
	b, err := codec.Encode(&s)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := statusRows(codec, &kgo.Record{Topic: TopicStatuses, Value: b})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}
