package schemas

import "github.com/rationhq/ration/schemas/avrobin"

// The shared records encode themselves (see package avrobin): a status
// event is written for every item every stage touches, and the others are
// kept with it until a benchmark says the goavro-driven codec does as well.
// handcoded_test.go holds each to goavro's bytes.

var statusSymbols = []string{"SUCCESS", "FAILED", "ERROR", "REPROCESS", "PROCESSED"}

// AppendAvro implements the hand-written encoding (see Record).
func (e *Event) AppendAvro(b []byte) ([]byte, error) {
	b = avrobin.AppendString(b, e.ItemID)
	b = avrobin.AppendString(b, e.Pipeline)
	b = avrobin.AppendString(b, e.Stage)
	b, err := avrobin.AppendEnum(b, "status", string(e.Status), statusSymbols...)
	if err != nil {
		return b, err
	}
	b = avrobin.AppendLong(b, int64(e.Attempt))
	b = avrobin.AppendLong(b, int64(e.RetryCount))
	b = avrobin.AppendString(b, e.Worker)
	b = avrobin.AppendString(b, e.SourceTopic)
	b = avrobin.AppendLong(b, int64(e.SourcePartition))
	b = avrobin.AppendLong(b, e.SourceOffset)
	b = avrobin.AppendString(b, e.ErrorClass)
	b = avrobin.AppendString(b, e.Error)
	return avrobin.AppendMillis(b, e.Time), nil
}

// ReadAvro implements the hand-written decoding (see Record).
func (e *Event) ReadAvro(b []byte) error {
	r := avrobin.NewReader(b)
	e.ItemID = r.String("item_id")
	e.Pipeline = r.String("pipeline")
	e.Stage = r.String("stage")
	e.Status = Status(r.Enum("status", statusSymbols...))
	e.Attempt = r.Int("attempt")
	e.RetryCount = r.Int("retry_count")
	e.Worker = r.String("worker")
	e.SourceTopic = r.String("source_topic")
	e.SourcePartition = int32(r.Int("source_partition"))
	e.SourceOffset = r.Long("source_offset")
	e.ErrorClass = r.String("error_class")
	e.Error = r.String("error")
	e.Time = r.Millis("time")
	return r.Done()
}

// AppendAvro implements the hand-written encoding (see Record).
func (c *Client) AppendAvro(b []byte) ([]byte, error) {
	b = avrobin.AppendString(b, c.Name)
	b, err := avrobin.AppendEnum(b, "kind", string(c.Kind), "api", "worker")
	if err != nil {
		return b, err
	}
	if b, err = avrobin.AppendEnum(b, "scope", string(c.Scope), "read", "write", "admin"); err != nil {
		return b, err
	}
	b = avrobin.AppendString(b, c.KeyHash)
	b = avrobin.AppendString(b, c.Pipeline)
	b = avrobin.AppendMillis(b, c.CreatedAt)
	return avrobin.AppendBool(b, c.Revoked), nil
}

// ReadAvro implements the hand-written decoding (see Record).
func (c *Client) ReadAvro(b []byte) error {
	r := avrobin.NewReader(b)
	c.Name = r.String("name")
	c.Kind = ClientKind(r.Enum("kind", "api", "worker"))
	c.Scope = Scope(r.Enum("scope", "read", "write", "admin"))
	c.KeyHash = r.String("key_hash")
	c.Pipeline = r.String("pipeline")
	c.CreatedAt = r.Millis("created_at")
	c.Revoked = r.Bool("revoked")
	return r.Done()
}

// AppendAvro implements the hand-written encoding (see Record).
func (a *Audit) AppendAvro(b []byte) ([]byte, error) {
	b = avrobin.AppendString(b, a.Client)
	b = avrobin.AppendString(b, a.Method)
	b = avrobin.AppendString(b, a.Route)
	b = avrobin.AppendString(b, a.Target)
	b = avrobin.AppendLong(b, int64(a.Status))
	return avrobin.AppendMillis(b, a.Time), nil
}

// ReadAvro implements the hand-written decoding (see Record).
func (a *Audit) ReadAvro(b []byte) error {
	r := avrobin.NewReader(b)
	a.Client = r.String("client")
	a.Method = r.String("method")
	a.Route = r.String("route")
	a.Target = r.String("target")
	a.Status = r.Int("status")
	a.Time = r.Millis("time")
	return r.Done()
}

// AppendAvro implements the hand-written encoding (see Record).
func (k *KeyBlock) AppendAvro(b []byte) ([]byte, error) {
	b = avrobin.AppendInts(b, k.Seqs)
	b = avrobin.AppendInts(b, k.Tiers)
	b = avrobin.AppendLong(b, int64(k.NextSeq))
	return avrobin.AppendString(b, k.ParkedItem), nil
}

// ReadAvro implements the hand-written decoding (see Record).
func (k *KeyBlock) ReadAvro(b []byte) error {
	r := avrobin.NewReader(b)
	k.Seqs = r.Ints("seqs")
	k.Tiers = r.Ints("tiers")
	k.NextSeq = r.Int("next_seq")
	k.ParkedItem = r.String("parked_item")
	return r.Done()
}

// AppendAvro implements the hand-written encoding (see Record).
func (s *ReprocessState) AppendAvro(b []byte) ([]byte, error) {
	b = avrobin.AppendString(b, s.Pipeline)
	b = avrobin.AppendString(b, s.ItemID)
	b = avrobin.AppendLong(b, int64(s.RetryCount))
	b = avrobin.AppendOptMillis(b, s.SentAt)
	b = avrobin.AppendOptMillis(b, s.FailedAt)
	return avrobin.AppendOptMillis(b, s.NotifiedAt), nil
}

// ReadAvro implements the hand-written decoding (see Record).
func (s *ReprocessState) ReadAvro(b []byte) error {
	r := avrobin.NewReader(b)
	s.Pipeline = r.String("pipeline")
	s.ItemID = r.String("item_id")
	s.RetryCount = r.Int("retry_count")
	s.SentAt = r.OptMillis("sent_at")
	s.FailedAt = r.OptMillis("failed_at")
	s.NotifiedAt = r.OptMillis("notified_at")
	return r.Done()
}
