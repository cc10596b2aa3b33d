package receipts

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/internal/kafkatest"
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

// TestDocumentRowsStoreTheReceiptAsSent: the documents table gets the
// bytes as sent: an XML receipt's Document, a JSON receipt's Value (its
// record carries no Document), and, from a record of before, its Document.
func TestDocumentRowsStoreTheReceiptAsSent(t *testing.T) {
	codec := kafkatest.Codec(t, kafkatest.Setup{Records: []schemas.Record{new(Receipt)}})
	const asSent = `{"type": "retail",  "receipt_id": "R-1"}` // spaced as the client spaced it
	for _, rc := range []Receipt{
		{ID: "shop:R-1", ContentType: ContentJSON, Value: asSent},
		{ID: "shop:R-2", ContentType: "application/xml", Document: []byte(`<receipt type="retail" id="R-2"/>`), Value: `{"type":"retail","receipt_id":"R-2"}`},
		{ID: "shop:R-3", ContentType: ContentJSON, Document: []byte(asSent), Value: asSent},
	} {
		b, err := codec.Encode(&rc)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := receivedRows(codec, &kgo.Record{Topic: TopicReceived, Value: b})
		if err != nil {
			t.Fatal(err)
		}
		want := string(rc.Document)
		if want == "" {
			want = asSent
		}
		if got := rows[0].Values[len(rows[0].Values)-1]; got != want {
			t.Errorf("%s: document %q, want %q", rc.ID, got, want)
		}
	}
}
