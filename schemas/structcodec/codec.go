// Package structcodec encodes and decodes Go structs in the Avro binary
// encoding of a schema, through goavro: the default codec of every
// ration record type (schemas.Codec uses it for any type that does not
// encode itself), and the oracle that hand-written codecs are tested
// against.
package structcodec

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/linkedin/goavro/v2"
	"github.com/rationhq/ration/schemas/avrobin"
)

// Codec encodes and decodes values of one Go struct type in the Avro
// binary encoding of one schema, through goavro's native form. It is the
// default codec of a record type: goavro does the Avro, and converters
// built once from the schema and the struct type (codec_build.go) move
// values between the struct and goavro's maps, so encoding and decoding
// look nothing up. A record type gets a hand-written codec (package
// avrobin) only when a benchmark shows the need; BenchmarkStructCodec
// measures what the default costs.
//
// A struct field maps to the schema field its `avro:"<name>"` tag names.
// Every schema field needs one such struct field and every tagged field
// needs a schema field; untagged struct fields are left alone, by decoding
// too. The types map as follows:
//
//	Avro                             Go
//	string                           any string kind (string, Priority, …)
//	enum                             any string kind; encoding a value that is not a symbol is an error
//	boolean                          bool
//	int                              int, int32; encoding a value outside 32 bits is an error
//	long                             int, int64
//	float, double                    float32, float64
//	bytes                            []byte
//	fixed                            [N]byte, N the fixed's size
//	long, timestamp-millis (-micros) time.Time (see below)
//	["null", T], either order        *T, nil for null
//	array                            slice
//	map                              map with a string-kind key
//	record                           struct
//
// Named Go types match by kind (type Tier int is an int). A timestamp
// decodes in UTC and encodes truncated to its unit. The zero time encodes
// as 0 and 0 decodes as the zero time, because ration's 0 means never
// (ReprocessState.SentAt): the Unix epoch itself does not survive a round
// trip. An empty array, map or bytes decodes as nil: Avro has no null one.
//
// Not supported, refused by New: recursive types, unions other
// than null and one other type, arrays of items that can take no bytes
// (empty records), and the logical types date, time-millis, time-micros,
// decimal and validated-string. goavro ignores every other logical type
// (uuid, local-timestamp-millis, …), and so does this codec: a uuid is a
// string.
//
// A Codec is safe for concurrent use.
type Codec struct {
	avro *goavro.Codec
	typ  reflect.Type // the pointer to the struct
	root *recordConv
}

// New parses schema (Avro JSON) with goavro and checks that the
// struct type of prototype (a pointer to a struct) matches it: every schema
// field has exactly one struct field tagged `avro:"<name>"` with a
// compatible Go type, and no tagged struct field is missing from the
// schema. Mismatches are errors naming the field.
func New(schema string, prototype any) (*Codec, error) {
	typ := reflect.TypeOf(prototype)
	if typ == nil || typ.Kind() != reflect.Pointer || typ.Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("struct codec: prototype %T is not a pointer to a struct", prototype)
	}
	avro, err := goavro.NewCodec(schema)
	if err != nil {
		return nil, fmt.Errorf("struct codec for %s: %w", typ.Elem(), err)
	}
	// goavro keeps its parse to itself; walk our own.
	var parsed any
	if err := json.Unmarshal([]byte(schema), &parsed); err != nil {
		return nil, fmt.Errorf("struct codec for %s: %w", typ.Elem(), err)
	}
	root, err := newBuilder().root(parsed, typ.Elem())
	if err != nil {
		return nil, fmt.Errorf("struct codec for %s: %w", typ.Elem(), err)
	}
	return &Codec{avro: avro, typ: typ, root: root}, nil
}

// Append appends v's Avro binary encoding (no wire-format header) to
// b; v is a pointer to the prototype's struct type. On error it returns b
// as it was.
func (c *Codec) Append(b []byte, v any) ([]byte, error) {
	rv, err := c.value(v)
	if err != nil {
		return b, err
	}
	native, err := c.root.native(rv.Elem())
	if err != nil {
		return b, err
	}
	out, err := c.avro.BinaryFromNative(b, native)
	if err != nil {
		return b, fmt.Errorf("goavro: %w", err)
	}
	return out, nil
}

// Read decodes b into v (a pointer to the struct type); trailing
// bytes are an error. The bytes are checked before goavro reads them
// (see below); on error, v may hold part of the record.
//
// goavro reads its input trustingly. Before reading the items
// of an array or map block it allocates room for the block's whole count,
// up to goavro.MaxBlockCount, 2^31-1 by default: 5 bytes announcing an
// array of 2^31-1 items ask for 32 GiB, which no recover() survives. And it
// wraps around an int wider than 32 bits or a varint longer than 64. So
// readBinary first walks the bytes as the schema lays them out, without
// building values (each conv's check), with avrobin's rules: every length
// and count is held to the bytes left, every varint and int to its width.
// goavro then only sees input whose layout is sound, and allocates in
// proportion to it. goavro.MaxBlockCount is a process-wide setting, not
// the codec's to set.
func (c *Codec) Read(b []byte, v any) error {
	rv, err := c.value(v)
	if err != nil {
		return err
	}
	r := avrobin.NewReader(b)
	c.root.check(r)
	if err := r.Done(); err != nil {
		return err
	}
	native, rest, err := c.avro.NativeFromBinary(b)
	if err != nil {
		return fmt.Errorf("goavro: %w", err)
	}
	if len(rest) > 0 { // the check has seen to it; kept in case goavro reads less
		return fmt.Errorf("avro: %d trailing bytes", len(rest))
	}
	return c.root.set(rv.Elem(), native)
}

// value returns v as a reflect.Value, if it is a non-nil pointer to the
// codec's struct type.
func (c *Codec) value(v any) (reflect.Value, error) {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() || rv.Type() != c.typ {
		return reflect.Value{}, fmt.Errorf("struct codec for %s: given %T", c.typ.Elem(), v)
	}
	if rv.IsNil() {
		return reflect.Value{}, fmt.Errorf("struct codec for %s: given a nil pointer", c.typ.Elem())
	}
	return rv, nil
}
