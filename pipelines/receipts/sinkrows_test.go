package receipts

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/schemas"
	"github.com/rationhq/ration/sink"
)

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
