package schemas

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// Records are decoded by hand for the same reason they are encoded by hand
// (encode.go). A decoder faces outside input: every length is checked
// against what is left, and decode_test.go fuzzes it against goavro.

var (
	errShort    = errors.New("avro: input ends inside a field")
	errOverflow = errors.New("avro: varint overflows 64 bits")
	errIntRange = errors.New("avro: int out of 32-bit range")
)

// reader reads Avro binary fields and keeps the first error.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(field string, err error) {
	if r.err == nil {
		r.err = fmt.Errorf("field %s: %w", field, err)
	}
}

func (r *reader) long(field string) int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	switch {
	case n == 0:
		r.fail(field, errShort)
		return 0
	case n < 0:
		r.fail(field, errOverflow)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) int(field string) int {
	v := r.long(field)
	if v < math.MinInt32 || v > math.MaxInt32 {
		r.fail(field, fmt.Errorf("%w: %d", errIntRange, v))
		return 0
	}
	return int(v)
}

func (r *reader) str(field string) string {
	n := r.long(field)
	if r.err != nil {
		return ""
	}
	if n < 0 || n > int64(len(r.b)) {
		r.fail(field, fmt.Errorf("string length %d with %d bytes left", n, len(r.b)))
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *reader) millis(field string) time.Time {
	v := r.long(field)
	if r.err != nil {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// optMillis reads a timestamp-millis where 0 means never: the zero time.
func (r *reader) optMillis(field string) time.Time {
	v := r.long(field)
	if r.err != nil || v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// ints reads an array of int: blocks of a count and that many items, up to
// a 0 count. A negative count -n announces n items behind a byte size,
// which is read and ignored. An empty array reads as nil.
func (r *reader) ints(field string) []int {
	var v []int
	for r.err == nil {
		n := r.long(field)
		if r.err != nil || n == 0 {
			break
		}
		if n < 0 {
			// Compare before negating: -math.MinInt64 overflows.
			if n < -int64(len(r.b)) {
				r.fail(field, fmt.Errorf("array block count %d with %d bytes left", n, len(r.b)))
				break
			}
			n = -n
			r.long(field) // the block's size in bytes, not needed
			if r.err != nil {
				break
			}
		}
		// Every item takes at least one byte.
		if n > int64(len(r.b)) {
			r.fail(field, fmt.Errorf("array block count %d with %d bytes left", n, len(r.b)))
			break
		}
		if v == nil {
			v = make([]int, 0, n)
		}
		for range n {
			x := r.int(field)
			if r.err != nil {
				break
			}
			v = append(v, x)
		}
	}
	if r.err != nil {
		return nil
	}
	return v
}

func (r *reader) enum(field string, symbols ...string) string {
	i := r.long(field)
	if r.err != nil {
		return ""
	}
	if i < 0 || i >= int64(len(symbols)) {
		r.fail(field, fmt.Errorf("enum index %d of %d symbols", i, len(symbols)))
		return ""
	}
	return symbols[i]
}

// optionalBool reads the union ["null", "boolean"].
func (r *reader) optionalBool(field string) *bool {
	switch branch := r.long(field); {
	case r.err != nil:
		return nil
	case branch == 0:
		return nil
	case branch != 1:
		r.fail(field, fmt.Errorf("union branch %d of 2", branch))
		return nil
	}
	if len(r.b) == 0 {
		r.fail(field, errShort)
		return nil
	}
	v := r.b[0]
	r.b = r.b[1:]
	if v > 1 {
		r.fail(field, fmt.Errorf("boolean byte %d", v))
		return nil
	}
	b := v == 1
	return &b
}

func (r *reader) boolean(field string) bool {
	if r.err != nil {
		return false
	}
	if len(r.b) == 0 {
		r.fail(field, errShort)
		return false
	}
	v := r.b[0]
	r.b = r.b[1:]
	if v > 1 {
		r.fail(field, fmt.Errorf("boolean byte %d", v))
		return false
	}
	return v == 1
}

// done reports the first error, or bytes left over.
func (r *reader) done() error {
	if r.err == nil && len(r.b) > 0 {
		return fmt.Errorf("avro: %d trailing bytes", len(r.b))
	}
	return r.err
}

func (u *DMUser) readAvro(b []byte) error {
	r := reader{b: b}
	u.UserID = r.str("user_id")
	u.RegisteredAt = r.millis("registered_at")
	return r.done()
}

func (k *DMMark) readAvro(b []byte) error {
	r := reader{b: b}
	k.UserID = r.str("user_id")
	k.Priority = Priority(r.enum("priority", "normal", "high"))
	k.MarkedAt = r.millis("marked_at")
	return r.done()
}

func (d *DMResult) readAvro(b []byte) error {
	r := reader{b: b}
	d.UserID = r.str("user_id")
	d.Priority = Priority(r.enum("priority", "normal", "high"))
	d.MarkedAt = r.millis("marked_at")
	d.CheckedAt = r.millis("checked_at")
	d.Status = ResultStatus(r.enum("status", "checked", "failed"))
	d.OpenDM = r.optionalBool("open_dm")
	d.Attempts = r.int("attempts")
	d.Worker = r.str("worker")
	d.Error = r.str("error")
	return r.done()
}

func (e *Event) readAvro(b []byte) error {
	r := reader{b: b}
	e.ItemID = r.str("item_id")
	e.Pipeline = r.str("pipeline")
	e.Stage = r.str("stage")
	e.Status = Status(r.enum("status", "SUCCESS", "FAILED", "ERROR", "REPROCESS", "PROCESSED"))
	e.Attempt = r.int("attempt")
	e.RetryCount = r.int("retry_count")
	e.Worker = r.str("worker")
	e.SourceTopic = r.str("source_topic")
	e.SourcePartition = int32(r.int("source_partition"))
	e.SourceOffset = r.long("source_offset")
	e.ErrorClass = r.str("error_class")
	e.Error = r.str("error")
	e.Time = r.millis("time")
	return r.done()
}

func (c *Client) readAvro(b []byte) error {
	r := reader{b: b}
	c.Name = r.str("name")
	c.Kind = ClientKind(r.enum("kind", "api", "worker"))
	c.Scope = Scope(r.enum("scope", "read", "write", "admin"))
	c.KeyHash = r.str("key_hash")
	c.Pipeline = r.str("pipeline")
	c.CreatedAt = r.millis("created_at")
	c.Revoked = r.boolean("revoked")
	return r.done()
}

func (a *Audit) readAvro(b []byte) error {
	r := reader{b: b}
	a.Client = r.str("client")
	a.Method = r.str("method")
	a.Route = r.str("route")
	a.Target = r.str("target")
	a.Status = r.int("status")
	a.Time = r.millis("time")
	return r.done()
}

func (k *KeyBlock) readAvro(b []byte) error {
	r := reader{b: b}
	k.Seqs = r.ints("seqs")
	k.Tiers = r.ints("tiers")
	k.NextSeq = r.int("next_seq")
	return r.done()
}

func (s *ReprocessState) readAvro(b []byte) error {
	r := reader{b: b}
	s.Pipeline = r.str("pipeline")
	s.ItemID = r.str("item_id")
	s.RetryCount = r.int("retry_count")
	s.SentAt = r.optMillis("sent_at")
	s.FailedAt = r.optMillis("failed_at")
	s.NotifiedAt = r.optMillis("notified_at")
	s.Stage = r.str("stage")
	s.Error = r.str("error")
	return r.done()
}
