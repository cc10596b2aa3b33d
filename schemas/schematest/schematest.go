// Package schematest holds a hand-written codec (package avrobin) to the
// goavro-driven one (package structcodec) for the same schema, and makes
// the random values that test them.
package schematest

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/rationhq/ration/schemas"
	"github.com/rationhq/ration/schemas/structcodec"
)

// HandCoded is a record that encodes and decodes itself.
type HandCoded interface {
	schemas.Record
	AppendAvro(b []byte) ([]byte, error)
	ReadAvro(b []byte) error
}

// CheckHandCoded holds the hand-written codec of n records from gen to
// the goavro-driven codec of their schema (their fields tagged `avro:"..."`
// as any record's): the same bytes, and the same value decoded either way.
func CheckHandCoded(t *testing.T, n int, gen func(r *rand.Rand) HandCoded) {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	var oracle *structcodec.Codec
	for i := range n {
		v := gen(r)
		if oracle == nil {
			var err error
			if oracle, err = structcodec.New(v.AvroSchema().Text(), v); err != nil {
				t.Fatalf("%s: %v", v.AvroSchema().Name(), err)
			}
		}
		hand, err := v.AppendAvro(nil)
		if err != nil {
			t.Fatalf("value %d (%+v): hand-written encoding: %v", i, v, err)
		}
		want, err := oracle.Append(nil, v)
		if err != nil {
			t.Fatalf("value %d (%+v): goavro: %v", i, v, err)
		}
		if !reflect.DeepEqual(hand, want) {
			t.Fatalf("value %d (%+v):\n hand   %x\n goavro %x", i, v, hand, want)
		}
		viaHand := reflect.New(reflect.TypeOf(v).Elem()).Interface().(HandCoded)
		if err := viaHand.ReadAvro(want); err != nil {
			t.Fatalf("value %d: hand-written decoding: %v", i, err)
		}
		viaGoavro := reflect.New(reflect.TypeOf(v).Elem()).Interface().(HandCoded)
		if err := oracle.Read(want, viaGoavro); err != nil {
			t.Fatalf("value %d: goavro decoding: %v", i, err)
		}
		if !reflect.DeepEqual(viaHand, viaGoavro) {
			t.Fatalf("value %d decodes differently:\n hand   %+v\n goavro %+v", i, viaHand, viaGoavro)
		}
	}
}

// String returns up to 80 characters, some of them outside ASCII.
func String(r *rand.Rand) string {
	const chars = "abcdefghijklmnopqrstuvwxyzABC0123456789_.:-é漢"
	runes := []rune(chars)
	b := make([]rune, r.IntN(80))
	for i := range b {
		b[i] = runes[r.IntN(len(runes))]
	}
	return string(b)
}

// Time returns a time to the millisecond between 1938 and 2096, in UTC.
func Time(r *rand.Rand) time.Time {
	return time.UnixMilli(r.Int64N(4_000_000_000_000) - 1_000_000_000_000).UTC()
}

// OptTime returns the zero time (never) a third of the time.
func OptTime(r *rand.Rand) time.Time {
	if r.IntN(3) == 0 {
		return time.Time{}
	}
	return Time(r)
}

// Ints returns nil or up to 10 ints over the whole 32-bit range.
func Ints(r *rand.Rand) []int {
	if r.IntN(3) == 0 {
		return nil
	}
	v := make([]int, 1+r.IntN(10))
	for i := range v {
		v[i] = int(int32(r.Uint32()))
	}
	return v
}

// Pick returns one of xs.
func Pick[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }
