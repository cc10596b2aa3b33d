package schemas

import (
	"testing"
	"time"
)

// BenchmarkResultCodec compares the hand-written encoder and decoder with
// goavro's, in the same run, on a DM result (the record the DM pipeline
// writes most, with the status event).
func BenchmarkResultCodec(b *testing.B) {
	open := true
	now := time.UnixMilli(1_700_000_000_000)
	r := &DMResult{UserID: "user-000123", Priority: PriorityNormal, MarkedAt: now, CheckedAt: now,
		Status: ResultChecked, OpenDM: &open, Attempts: 1, Worker: "dmcheck-7"}
	codec := goavroCodecs(b)["dm_result.avsc"]
	wire, _ := r.appendAvro(nil)

	b.Run("encode/goavro", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := codec.BinaryFromNative(nil, r.native()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encode/hand", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.appendAvro(nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode/goavro", func(b *testing.B) {
		b.ReportAllocs()
		var out DMResult
		for b.Loop() {
			native, _, err := codec.NativeFromBinary(wire)
			if err != nil {
				b.Fatal(err)
			}
			if err := out.fromNative(native.(map[string]any)); err != nil {
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
