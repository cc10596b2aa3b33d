package schemas

import (
	"encoding/binary"
	"fmt"
	"time"
)

// The records are encoded by hand, field by field in schema order, because
// building goavro's map form costs more than the rest of a DM check (see
// docs/benchmarks.md). Decoding stays with goavro: it faces outside input.
// encode_test.go holds every encoder to goavro's output for the same .avsc.

func appendLong(b []byte, v int64) []byte { return binary.AppendVarint(b, v) }

func appendString(b []byte, s string) []byte {
	b = binary.AppendVarint(b, int64(len(s)))
	return append(b, s...)
}

func appendMillis(b []byte, t time.Time) []byte { return appendLong(b, t.UnixMilli()) }

// appendOptMillis appends t as timestamp-millis, the zero time as 0.
func appendOptMillis(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return appendLong(b, 0)
	}
	return appendMillis(b, t)
}

// appendInts appends v as an Avro array of int: one block (if v is not
// empty), then the 0 count that ends the array.
func appendInts(b []byte, v []int) []byte {
	if len(v) > 0 {
		b = appendLong(b, int64(len(v)))
		for _, x := range v {
			b = appendLong(b, int64(x))
		}
	}
	return appendLong(b, 0)
}

// appendEnum appends the index of v among symbols.
func appendEnum(b []byte, field, v string, symbols ...string) ([]byte, error) {
	for i, s := range symbols {
		if s == v {
			return appendLong(b, int64(i)), nil
		}
	}
	return b, fmt.Errorf("field %s: %q is not one of %v", field, v, symbols)
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

func (u *DMUser) appendAvro(b []byte) ([]byte, error) {
	b = appendString(b, u.UserID)
	return appendMillis(b, u.RegisteredAt), nil
}

func (k *DMMark) appendAvro(b []byte) ([]byte, error) {
	b = appendString(b, k.UserID)
	b, err := appendEnum(b, "priority", string(k.Priority), "normal", "high")
	if err != nil {
		return b, err
	}
	return appendMillis(b, k.MarkedAt), nil
}

func (r *DMResult) appendAvro(b []byte) ([]byte, error) {
	b = appendString(b, r.UserID)
	b, err := appendEnum(b, "priority", string(r.Priority), "normal", "high")
	if err != nil {
		return b, err
	}
	b = appendMillis(b, r.MarkedAt)
	b = appendMillis(b, r.CheckedAt)
	if b, err = appendEnum(b, "status", string(r.Status), "checked", "failed"); err != nil {
		return b, err
	}
	if r.OpenDM == nil {
		b = appendLong(b, 0) // union branch "null"
	} else {
		b = appendLong(b, 1) // union branch "boolean"
		if *r.OpenDM {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	}
	b = appendLong(b, int64(r.Attempts))
	b = appendString(b, r.Worker)
	return appendString(b, r.Error), nil
}

func (e *Event) appendAvro(b []byte) ([]byte, error) {
	b = appendString(b, e.ItemID)
	b = appendString(b, e.Pipeline)
	b = appendString(b, e.Stage)
	b, err := appendEnum(b, "status", string(e.Status), "SUCCESS", "FAILED", "ERROR", "REPROCESS", "PROCESSED")
	if err != nil {
		return b, err
	}
	b = appendLong(b, int64(e.Attempt))
	b = appendLong(b, int64(e.RetryCount))
	b = appendString(b, e.Worker)
	b = appendString(b, e.SourceTopic)
	b = appendLong(b, int64(e.SourcePartition))
	b = appendLong(b, e.SourceOffset)
	b = appendString(b, e.ErrorClass)
	b = appendString(b, e.Error)
	return appendMillis(b, e.Time), nil
}

func (c *Client) appendAvro(b []byte) ([]byte, error) {
	b = appendString(b, c.Name)
	b, err := appendEnum(b, "kind", string(c.Kind), "api", "worker")
	if err != nil {
		return b, err
	}
	if b, err = appendEnum(b, "scope", string(c.Scope), "read", "write", "admin"); err != nil {
		return b, err
	}
	b = appendString(b, c.KeyHash)
	b = appendString(b, c.Pipeline)
	b = appendMillis(b, c.CreatedAt)
	return appendBool(b, c.Revoked), nil
}

func (a *Audit) appendAvro(b []byte) ([]byte, error) {
	b = appendString(b, a.Client)
	b = appendString(b, a.Method)
	b = appendString(b, a.Route)
	b = appendString(b, a.Target)
	b = appendLong(b, int64(a.Status))
	return appendMillis(b, a.Time), nil
}

func (k *KeyBlock) appendAvro(b []byte) ([]byte, error) {
	b = appendInts(b, k.Seqs)
	b = appendInts(b, k.Tiers)
	return appendLong(b, int64(k.NextSeq)), nil
}

func (s *ReprocessState) appendAvro(b []byte) ([]byte, error) {
	b = appendString(b, s.Pipeline)
	b = appendString(b, s.ItemID)
	b = appendLong(b, int64(s.RetryCount))
	b = appendOptMillis(b, s.SentAt)
	b = appendOptMillis(b, s.FailedAt)
	b = appendOptMillis(b, s.NotifiedAt)
	b = appendString(b, s.Stage)
	return appendString(b, s.Error), nil
}
