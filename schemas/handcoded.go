package schemas

import "github.com/rationhq/ration/schemas/avrobin"

// A status event encodes itself (see package avrobin): one is written for
// every record every stage handles, where goavro's map form would cost as
// much as the stage's own work (docs/benchmarks.md). handcoded_test.go
// holds it to the goavro-driven codec's bytes. The other shared records
// use that codec.

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
