package receipts

import "github.com/rationhq/ration/schemas/avrobin"

// A receipt, its status and a total encode themselves (see package
// avrobin): each is written and read several times per receipt, by the
// register stages, the status and totals views, the API's followers and
// the sink, where goavro's map form cost ~9% of `ration dev`'s CPU at
// 1 000 receipts/s. handcoded_test.go holds them to the goavro-driven
// codec's bytes. Older schema versions still decode through goavro.

// AppendAvro implements the hand-written encoding (see schemas.Record).
func (rc *Receipt) AppendAvro(b []byte) ([]byte, error) {
	b = avrobin.AppendString(b, rc.ID)
	b = avrobin.AppendString(b, rc.Client)
	b = avrobin.AppendString(b, rc.ReceiptID)
	b = avrobin.AppendString(b, rc.Type)
	b = avrobin.AppendString(b, rc.ContentType)
	b = avrobin.AppendBytes(b, rc.Document)
	b = avrobin.AppendString(b, rc.Value)
	b = avrobin.AppendString(b, rc.Digest)
	b = avrobin.AppendMillis(b, rc.ReceivedAt)
	b = avrobin.AppendString(b, rc.TaxRegistration)
	b = avrobin.AppendMillis(b, rc.TaxRegisteredAt)
	b = avrobin.AppendString(b, rc.LogisticsRegistration)
	b = avrobin.AppendMillis(b, rc.LogisticsRegisteredAt)
	b = avrobin.AppendString(b, rc.Reason)
	return avrobin.AppendMillis(b, rc.RejectedAt), nil
}

// ReadAvro implements the hand-written decoding.
func (rc *Receipt) ReadAvro(b []byte) error {
	r := avrobin.NewReader(b)
	rc.ID = r.String("id")
	rc.Client = r.String("client")
	rc.ReceiptID = r.String("receipt_id")
	rc.Type = r.String("type")
	rc.ContentType = r.String("content_type")
	rc.Document = r.Bytes("document")
	rc.Value = r.String("value")
	rc.Digest = r.String("digest")
	rc.ReceivedAt = r.Millis("received_at")
	rc.TaxRegistration = r.String("tax_registration")
	rc.TaxRegisteredAt = r.Millis("tax_registered_at")
	rc.LogisticsRegistration = r.String("logistics_registration")
	rc.LogisticsRegisteredAt = r.Millis("logistics_registered_at")
	rc.Reason = r.String("reason")
	rc.RejectedAt = r.Millis("rejected_at")
	return r.Done()
}

// AppendAvro implements the hand-written encoding.
func (s *ReceiptStatus) AppendAvro(b []byte) ([]byte, error) {
	b = avrobin.AppendString(b, s.ID)
	b = avrobin.AppendString(b, s.Client)
	b = avrobin.AppendString(b, s.ReceiptID)
	b = avrobin.AppendString(b, s.Type)
	b = avrobin.AppendString(b, s.ContentType)
	b = avrobin.AppendString(b, s.Digest)
	b = avrobin.AppendString(b, s.Status)
	b = avrobin.AppendString(b, s.PrevStatus)
	b = avrobin.AppendLong(b, s.ReceivedAt)
	b = avrobin.AppendString(b, s.TaxRegistration)
	b = avrobin.AppendLong(b, s.TaxRegisteredAt)
	b = avrobin.AppendString(b, s.LogisticsRegistration)
	b = avrobin.AppendLong(b, s.LogisticsRegisteredAt)
	b = avrobin.AppendString(b, s.Reason)
	b = avrobin.AppendLong(b, s.RejectedAt)
	b = avrobin.AppendLong(b, s.ParkedAt)
	b = avrobin.AppendString(b, s.ParkedStage)
	b = avrobin.AppendLong(b, s.RetriedAt)
	b = avrobin.AppendString(b, s.ParkError)
	b = avrobin.AppendLong(b, s.GaveUpAt)
	b = avrobin.AppendString(b, s.GiveUpError)
	return avrobin.AppendLong(b, s.Version), nil
}

// ReadAvro implements the hand-written decoding.
func (s *ReceiptStatus) ReadAvro(b []byte) error {
	r := avrobin.NewReader(b)
	s.ID = r.String("id")
	s.Client = r.String("client")
	s.ReceiptID = r.String("receipt_id")
	s.Type = r.String("type")
	s.ContentType = r.String("content_type")
	s.Digest = r.String("digest")
	s.Status = r.String("status")
	s.PrevStatus = r.String("prev_status")
	s.ReceivedAt = r.Long("received_at")
	s.TaxRegistration = r.String("tax_registration")
	s.TaxRegisteredAt = r.Long("tax_registered_at")
	s.LogisticsRegistration = r.String("logistics_registration")
	s.LogisticsRegisteredAt = r.Long("logistics_registered_at")
	s.Reason = r.String("reason")
	s.RejectedAt = r.Long("rejected_at")
	s.ParkedAt = r.Long("parked_at")
	s.ParkedStage = r.String("parked_stage")
	s.RetriedAt = r.Long("retried_at")
	s.ParkError = r.String("park_error")
	s.GaveUpAt = r.Long("gave_up_at")
	s.GiveUpError = r.String("give_up_error")
	s.Version = r.Long("version")
	return r.Done()
}

// AppendAvro implements the hand-written encoding.
func (t *ReceiptTotal) AppendAvro(b []byte) ([]byte, error) {
	b = avrobin.AppendString(b, t.Kind)
	b = avrobin.AppendLong(b, int64(t.Bucket))
	b = avrobin.AppendString(b, t.Day)
	b = avrobin.AppendString(b, t.Client)
	b = avrobin.AppendString(b, t.Type)
	b = avrobin.AppendString(b, t.Category)
	b = avrobin.AppendLong(b, t.Receipts)
	b = avrobin.AppendLong(b, t.Lines)
	b = avrobin.AppendDouble(b, t.Quantity)
	b = avrobin.AppendDouble(b, t.Amount)
	return avrobin.AppendLong(b, t.Version), nil
}

// ReadAvro implements the hand-written decoding.
func (t *ReceiptTotal) ReadAvro(b []byte) error {
	r := avrobin.NewReader(b)
	t.Kind = r.String("kind")
	t.Bucket = int32(r.Int("bucket")) // r.Int refuses what 32 bits cannot hold
	t.Day = r.String("day")
	t.Client = r.String("client")
	t.Type = r.String("type")
	t.Category = r.String("category")
	t.Receipts = r.Long("receipts")
	t.Lines = r.Long("lines")
	t.Quantity = r.Double("quantity")
	t.Amount = r.Double("amount")
	t.Version = r.Long("version")
	return r.Done()
}
