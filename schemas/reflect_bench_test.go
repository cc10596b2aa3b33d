package schemas

import (
	"bytes"
	"testing"
	"time"
)

// BenchmarkStructCodec compares the struct codec, the default of a new
// record type, with the hand-written codec of DMResult, in the same run,
// on the same DM result (dmResultTagged is DMResult with avro tags).
func BenchmarkStructCodec(b *testing.B) {
	open := true
	now := time.UnixMilli(1_700_000_000_000).UTC()
	hand := &DMResult{UserID: "user-000123", Priority: PriorityNormal, MarkedAt: now, CheckedAt: now,
		Status: ResultChecked, OpenDM: &open, Attempts: 1, Worker: "dmcheck-7"}
	tagged := (*dmResultTagged)(hand)
	c := dmResultStructCodec(b)
	wire, err := hand.appendAvro(nil)
	if err != nil {
		b.Fatal(err)
	}
	if got, err := c.appendBinary(nil, tagged); err != nil || !bytes.Equal(got, wire) {
		b.Fatalf("struct codec %x, %v; hand %x", got, err, wire)
	}
	buf := make([]byte, 0, 256) // as a producer reuses its buffer

	b.Run("encode/struct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.appendBinary(buf[:0], tagged); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encode/hand", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := hand.appendAvro(buf[:0]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode/struct", func(b *testing.B) {
		b.ReportAllocs()
		var out dmResultTagged
		for b.Loop() {
			if err := c.readBinary(wire, &out); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode/hand", func(b *testing.B) {
		b.ReportAllocs()
		var out DMResult
		for b.Loop() {
			if err := out.readAvro(wire); err != nil {
				b.Fatal(err)
			}
		}
	})
}
