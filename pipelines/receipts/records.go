package receipts

import (
	"embed"
	"time"

	"github.com/rationhq/ration/schemas"
)

//go:embed avro/*.avsc
var avsc embed.FS

var receiptSchema = schemas.MustSchema(avsc, "avro/receipt.avsc")

// Receipt is a receipt on its way through the pipeline, the same record
// on every topic of its path, filled in as it goes. Document, the
// receipt as sent, is on ration.receipts.received only, and only for an
// XML receipt: a JSON receipt's Value is its very bytes (Sent gives
// either); the stages leave it out of what they write (Value is the
// receipt as JSON).
type Receipt struct {
	ID                    string    `avro:"id"`
	Client                string    `avro:"client"`
	ReceiptID             string    `avro:"receipt_id"`
	Type                  string    `avro:"type"`
	ContentType           string    `avro:"content_type"`
	Document              []byte    `avro:"document"`
	Value                 string    `avro:"value"`
	Digest                string    `avro:"digest"`
	ReceivedAt            time.Time `avro:"received_at"`
	TaxRegistration       string    `avro:"tax_registration"`
	TaxRegisteredAt       time.Time `avro:"tax_registered_at"`
	LogisticsRegistration string    `avro:"logistics_registration"`
	LogisticsRegisteredAt time.Time `avro:"logistics_registered_at"`
	Reason                string    `avro:"reason"`
	RejectedAt            time.Time `avro:"rejected_at"`
}

// AvroSchema implements schemas.Record.
func (*Receipt) AvroSchema() *schemas.Schema { return receiptSchema }

// Sent returns the receipt as it was sent: its Document, or a JSON
// receipt's Value, which is that (a record written before JSON receipts
// left Document empty has both).
func (r *Receipt) Sent() string {
	if len(r.Document) == 0 && r.ContentType == ContentJSON {
		return r.Value
	}
	return string(r.Document)
}

// ID is a receipt's id in ration: the client's name and its own receipt
// id, so that one client's ids never meet another's.
func ID(client, receiptID string) string { return client + ":" + receiptID }

// millis is t in milliseconds since the epoch, 0 for the zero time.
func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}
