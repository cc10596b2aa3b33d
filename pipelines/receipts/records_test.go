package receipts

import (
	"reflect"
	"testing"
	"time"

	"github.com/rationhq/ration/internal/kafkatest"
	"github.com/rationhq/ration/schemas"
)

// TestReceiptRoundTrips: a receipt, its document's bytes and its times
// (zero: never) come back as they were written.
func TestReceiptRoundTrips(t *testing.T) {
	codec := kafkatest.Codec(t, kafkatest.Setup{Records: []schemas.Record{new(Receipt)}})
	at := time.UnixMilli(1_764_000_000_123).UTC()
	for _, r := range []Receipt{
		{ID: ID("shop", "R-1"), Client: "shop", ReceiptID: "R-1", Type: "retail", ContentType: ContentXML,
			Document: []byte("<receipt/>\x00\xff"), Value: `{"total":1}`, Digest: "ab", ReceivedAt: at},
		{ID: "a:b", ReceivedAt: at, TaxRegistration: "TAX-1", TaxRegisteredAt: at, LogisticsRegistration: "LOG-1",
			LogisticsRegisteredAt: at, Reason: "refused", RejectedAt: at},
	} {
		b, err := codec.Encode(&r)
		if err != nil {
			t.Fatal(err)
		}
		var got Receipt
		if err := codec.Decode(b, &got); err != nil {
			t.Fatal(err)
		}
		if got.Document == nil {
			got.Document = []byte{}
		}
		if r.Document == nil {
			r.Document = []byte{}
		}
		if !reflect.DeepEqual(got, r) {
			t.Fatalf("got %+v\nwant %+v", got, r)
		}
	}
}

// TestReceiptStatusRoundTrips: the view's state of a receipt comes back as
// it was written.
func TestReceiptStatusRoundTrips(t *testing.T) {
	codec := kafkatest.Codec(t, kafkatest.Setup{Records: []schemas.Record{new(ReceiptStatus)}})
	s := ReceiptStatus{ID: "a:b", Client: "a", ReceiptID: "b", Type: "fuel", ContentType: ContentJSON, Digest: "d",
		Status: string(StatusParked), ReceivedAt: 1, TaxRegistration: "TAX-1", TaxRegisteredAt: 2, ParkedAt: 3,
		ParkedStage: "logistics", ParkError: "503", GaveUpAt: 0, Version: 7}
	b, err := codec.Encode(&s)
	if err != nil {
		t.Fatal(err)
	}
	var got ReceiptStatus
	if err := codec.Decode(b, &got); err != nil {
		t.Fatal(err)
	}
	if got != s {
		t.Fatalf("got %+v, want %+v", got, s)
	}
}
