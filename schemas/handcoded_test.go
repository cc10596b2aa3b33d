package schemas_test

import (
	"math/rand/v2"
	"testing"

	"github.com/rationhq/ration/schemas"
	"github.com/rationhq/ration/schemas/schematest"
	"github.com/rationhq/ration/schemas/structcodec"
)

func randEvent(r *rand.Rand) schematest.HandCoded {
	return &schemas.Event{
		ItemID: schematest.String(r), Pipeline: schematest.String(r), Stage: schematest.String(r),
		Status:  schematest.Pick(r, schemas.StatusSuccess, schemas.StatusFailed, schemas.StatusError, schemas.StatusReprocess, schemas.StatusProcessed),
		Attempt: r.IntN(10), RetryCount: int(int32(r.Uint32())), Worker: schematest.String(r),
		SourceTopic: schematest.String(r), SourcePartition: int32(r.Uint32()), SourceOffset: int64(r.Uint64()),
		ErrorClass: schematest.String(r), Error: schematest.String(r), Time: schematest.OptTime(r),
	}
}

// TestEventMatchesGoavro holds the hand-written Event codec to goavro's.
func TestEventMatchesGoavro(t *testing.T) {
	schematest.CheckHandCoded(t, 2000, randEvent)
}

// FuzzEventDecoding: on any bytes the hand-written decoder fails where the
// goavro-driven one does, and otherwise reads the same event.
func FuzzEventDecoding(f *testing.F) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 4 {
		b, _ := randEvent(r).AppendAvro(nil)
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	oracle, err := structcodec.New(new(schemas.Event).AvroSchema().Text(), new(schemas.Event))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var hand, goavro schemas.Event
		herr, gerr := hand.ReadAvro(b), oracle.Read(b, &goavro)
		if (herr == nil) != (gerr == nil) {
			t.Fatalf("hand: %v, goavro: %v", herr, gerr)
		}
		if herr == nil && hand != goavro {
			t.Fatalf("hand %+v, goavro %+v", hand, goavro)
		}
	})
}

// BenchmarkEventCodec measures the hand-written Event codec against the
// goavro-driven default, in the same run: the reason it is hand-written.
func BenchmarkEventCodec(b *testing.B) {
	e := randEvent(rand.New(rand.NewPCG(1, 1))).(*schemas.Event)
	oracle, err := structcodec.New(new(schemas.Event).AvroSchema().Text(), new(schemas.Event))
	if err != nil {
		b.Fatal(err)
	}
	wire, _ := e.AppendAvro(nil)
	buf := make([]byte, 0, 512)
	b.Run("encode/goavro", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := oracle.Append(buf[:0], e); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encode/hand", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := e.AppendAvro(buf[:0]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode/goavro", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var out schemas.Event
			if err := oracle.Read(wire, &out); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode/hand", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var out schemas.Event
			if err := out.ReadAvro(wire); err != nil {
				b.Fatal(err)
			}
		}
	})
}
