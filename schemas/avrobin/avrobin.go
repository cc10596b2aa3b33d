// Package avrobin writes and reads Avro's binary encoding field by field,
// for the few record types whose benchmark showed that goavro's map form
// costs more than the work around it (a DM check, a status event, a
// receipt on its way). Every other record type goes through schemas'
// goavro-driven codec. A type that uses this package keeps its fields in
// schema order by hand, so its tests hold its bytes to the goavro-driven
// codec's for the same schema.
package avrobin

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// AppendLong appends an Avro int or long (zig-zag varint).
func AppendLong(b []byte, v int64) []byte { return binary.AppendVarint(b, v) }

// AppendString appends an Avro string (or bytes).
func AppendString(b []byte, s string) []byte {
	b = binary.AppendVarint(b, int64(len(s)))
	return append(b, s...)
}

// AppendBytes appends an Avro bytes.
func AppendBytes(b, v []byte) []byte {
	b = binary.AppendVarint(b, int64(len(v)))
	return append(b, v...)
}

// AppendDouble appends an Avro double: its IEEE 754 bits, little-endian.
func AppendDouble(b []byte, v float64) []byte {
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
}

// AppendMillis appends a timestamp-millis. ration's zero time means never
// and is written as 0, as package structcodec writes it.
func AppendMillis(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return AppendLong(b, 0)
	}
	return AppendLong(b, t.UnixMilli())
}

// AppendInts appends an array of int: one block (if v is not empty), then
// the 0 count that ends the array.
func AppendInts(b []byte, v []int) []byte {
	if len(v) > 0 {
		b = AppendLong(b, int64(len(v)))
		for _, x := range v {
			b = AppendLong(b, int64(x))
		}
	}
	return AppendLong(b, 0)
}

// AppendEnum appends the index of v among symbols; a value that is not a
// symbol is an error naming field.
func AppendEnum(b []byte, field, v string, symbols ...string) ([]byte, error) {
	for i, s := range symbols {
		if s == v {
			return AppendLong(b, int64(i)), nil
		}
	}
	return b, fmt.Errorf("field %s: %q is not one of %v", field, v, symbols)
}

// AppendBool appends a boolean.
func AppendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// AppendOptBool appends the union ["null", "boolean"].
func AppendOptBool(b []byte, v *bool) []byte {
	if v == nil {
		return AppendLong(b, 0)
	}
	return AppendBool(AppendLong(b, 1), *v)
}

// What a Reader refuses.
var (
	ErrShort      = errors.New("avro: input ends inside a field")
	ErrOverflow   = errors.New("avro: varint overflows 64 bits")
	ErrIntRange   = errors.New("avro: int out of 32-bit range")
	ErrBlockCount = errors.New("avro: block count beyond the bytes left")
)

// Reader reads Avro binary fields and keeps the first error. A decoder
// faces outside input: every length is checked against what is left.
type Reader struct {
	b   []byte
	err error
}

// NewReader reads b.
func NewReader(b []byte) *Reader { return &Reader{b: b} }

// Fail records err as field's, unless an error came first.
func (r *Reader) Fail(field string, err error) {
	if r.err == nil {
		r.err = fmt.Errorf("field %s: %w", field, err)
	}
}

// Err is the first error.
func (r *Reader) Err() error { return r.err }

// Long reads an Avro long.
func (r *Reader) Long(field string) int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	switch {
	case n == 0:
		r.Fail(field, ErrShort)
		return 0
	case n < 0:
		r.Fail(field, ErrOverflow)
		return 0
	}
	r.b = r.b[n:]
	return v
}

// Int reads an Avro int, refusing values outside 32 bits (goavro wraps
// them around).
func (r *Reader) Int(field string) int {
	v := r.Long(field)
	if v < math.MinInt32 || v > math.MaxInt32 {
		r.Fail(field, fmt.Errorf("%w: %d", ErrIntRange, v))
		return 0
	}
	return int(v)
}

// String reads an Avro string.
func (r *Reader) String(field string) string { return string(r.prefixed(field, "string")) }

// Bytes reads an Avro bytes into a copy of its own. An empty bytes reads
// as nil, as package structcodec reads it: Avro has no null one.
func (r *Reader) Bytes(field string) []byte {
	if v := r.prefixed(field, "bytes"); len(v) > 0 {
		return bytes.Clone(v)
	}
	return nil
}

// prefixed reads a length and returns that many bytes of the input, not
// copied: a string's, bytes' (what names it in an error) or one skipped.
func (r *Reader) prefixed(field, what string) []byte {
	n := r.Long(field)
	if r.err != nil {
		return nil
	}
	if n < 0 || n > int64(len(r.b)) {
		r.Fail(field, fmt.Errorf("%s length %d with %d bytes left", what, n, len(r.b)))
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

// Double reads an Avro double.
func (r *Reader) Double(field string) float64 {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 8 {
		r.Fail(field, ErrShort)
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(r.b))
	r.b = r.b[8:]
	return v
}

// Millis reads a timestamp-millis, in UTC; 0 means never and reads as the
// zero time, as package structcodec reads it.
func (r *Reader) Millis(field string) time.Time {
	v := r.Long(field)
	if r.err != nil || v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// Ints reads an array of int: blocks of a count and that many items, up to
// a 0 count. A negative count -n announces n items behind a byte size,
// which is read and ignored. An empty array reads as nil.
func (r *Reader) Ints(field string) []int {
	var v []int
	for r.err == nil {
		n := r.Long(field)
		if r.err != nil || n == 0 {
			break
		}
		if n < 0 {
			// Compare before negating: -math.MinInt64 overflows.
			if n < -int64(len(r.b)) {
				r.Fail(field, fmt.Errorf("array block count %d with %d bytes left", n, len(r.b)))
				break
			}
			n = -n
			r.Long(field) // the block's size in bytes, not needed
			if r.err != nil {
				break
			}
		}
		// Every item takes at least one byte.
		if n > int64(len(r.b)) {
			r.Fail(field, fmt.Errorf("array block count %d with %d bytes left", n, len(r.b)))
			break
		}
		if v == nil {
			v = make([]int, 0, n)
		}
		for range n {
			x := r.Int(field)
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

// Enum reads an enum's index and returns its symbol.
func (r *Reader) Enum(field string, symbols ...string) string {
	i := r.Long(field)
	if r.err != nil {
		return ""
	}
	if i < 0 || i >= int64(len(symbols)) {
		r.Fail(field, fmt.Errorf("enum index %d of %d symbols", i, len(symbols)))
		return ""
	}
	return symbols[i]
}

// OptBool reads the union ["null", "boolean"].
func (r *Reader) OptBool(field string) *bool {
	switch branch := r.Long(field); {
	case r.err != nil:
		return nil
	case branch == 0:
		return nil
	case branch != 1:
		r.Fail(field, fmt.Errorf("union branch %d of 2", branch))
		return nil
	}
	b := r.Bool(field)
	if r.err != nil {
		return nil
	}
	return &b
}

// Bool reads a boolean.
func (r *Reader) Bool(field string) bool {
	if r.err != nil {
		return false
	}
	if len(r.b) == 0 {
		r.Fail(field, ErrShort)
		return false
	}
	v := r.b[0]
	r.b = r.b[1:]
	if v > 1 {
		r.Fail(field, fmt.Errorf("boolean byte %d", v))
		return false
	}
	return v == 1
}

// Done reports the first error, or bytes left over.
func (r *Reader) Done() error {
	if r.err == nil && len(r.b) > 0 {
		return fmt.Errorf("avro: %d trailing bytes", len(r.b))
	}
	return r.err
}

// Skip passes n bytes.
func (r *Reader) Skip(field string, n int) {
	if r.err != nil {
		return
	}
	if n > len(r.b) {
		r.Fail(field, ErrShort)
		return
	}
	r.b = r.b[n:]
}

// SkipLen passes a string or bytes: a length, then that many bytes.
func (r *Reader) SkipLen(field string) { r.prefixed(field, "string or bytes") }

// BlockCount reads the count of an array or map block, whose items take at
// least minItem (> 0) bytes each, and returns it, or 0 at the end of the
// blocks or on error. A negative count -n announces n items behind a byte
// size, which is read and ignored.
func (r *Reader) BlockCount(field string, minItem int) int64 {
	n := r.Long(field)
	if r.err != nil || n == 0 {
		return 0
	}
	if n < 0 {
		if n == math.MinInt64 { // has no positive counterpart
			r.Fail(field, fmt.Errorf("%w: %d", ErrBlockCount, n))
			return 0
		}
		n = -n
		r.Long(field)
		if r.err != nil {
			return 0
		}
	}
	if n > int64(len(r.b)/minItem) {
		r.Fail(field, fmt.Errorf("%w: %d items of at least %d bytes with %d bytes left", ErrBlockCount, n, minItem, len(r.b)))
		return 0
	}
	return n
}
