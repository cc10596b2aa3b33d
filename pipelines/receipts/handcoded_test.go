package receipts_test

import (
	"bytes"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/rationhq/ration/pipelines/receipts"
	"github.com/rationhq/ration/schemas/schematest"
	"github.com/rationhq/ration/schemas/structcodec"
)

// randBytes returns nil, empty or up to 200 random bytes.
func randBytes(r *rand.Rand) []byte {
	switch r.IntN(4) {
	case 0:
		return nil
	case 1:
		return []byte{}
	}
	b := make([]byte, r.IntN(200))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// randDouble returns 0 now and then, else any finite float64 of a few
// magnitudes, either sign.
func randDouble(r *rand.Rand) float64 {
	switch r.IntN(4) {
	case 0:
		return 0
	case 1:
		return math.Float64frombits(r.Uint64() &^ (0x7ff << 52)) // subnormal
	}
	return (r.Float64() - 0.5) * math.Pow(10, float64(r.IntN(30)-10))
}

func randReceipt(r *rand.Rand) schematest.HandCoded {
	return &receipts.Receipt{
		ID: schematest.String(r), Client: schematest.String(r), ReceiptID: schematest.String(r),
		Type: schematest.String(r), ContentType: schematest.String(r), Document: randBytes(r),
		Value: schematest.String(r), Digest: schematest.String(r), ReceivedAt: schematest.OptTime(r),
		TaxRegistration: schematest.String(r), TaxRegisteredAt: schematest.OptTime(r),
		LogisticsRegistration: schematest.String(r), LogisticsRegisteredAt: schematest.OptTime(r),
		Reason: schematest.String(r), RejectedAt: schematest.OptTime(r),
	}
}

func randStatus(r *rand.Rand) schematest.HandCoded {
	long := func() int64 { return int64(r.Uint64()) }
	return &receipts.ReceiptStatus{
		ID: schematest.String(r), Client: schematest.String(r), ReceiptID: schematest.String(r),
		Type: schematest.String(r), ContentType: schematest.String(r), Digest: schematest.String(r),
		Status: schematest.String(r), PrevStatus: schematest.String(r), ReceivedAt: long(),
		TaxRegistration: schematest.String(r), TaxRegisteredAt: long(),
		LogisticsRegistration: schematest.String(r), LogisticsRegisteredAt: long(),
		Reason: schematest.String(r), RejectedAt: long(), ParkedAt: long(),
		ParkedStage: schematest.String(r), RetriedAt: long(), ParkError: schematest.String(r),
		GaveUpAt: long(), GiveUpError: schematest.String(r), Version: long(),
	}
}

func randTotal(r *rand.Rand) schematest.HandCoded {
	return &receipts.ReceiptTotal{
		Kind: schematest.String(r), Bucket: int32(r.Uint32()), Day: schematest.String(r),
		Client: schematest.String(r), Type: schematest.String(r), Category: schematest.String(r),
		Receipts: int64(r.Uint64()), Lines: int64(r.Uint64()),
		Quantity: randDouble(r), Amount: randDouble(r), Version: int64(r.Uint64()),
	}
}

// TestReceiptMatchesGoavro holds the hand-written Receipt codec to goavro's.
func TestReceiptMatchesGoavro(t *testing.T) { schematest.CheckHandCoded(t, 2000, randReceipt) }

// TestReceiptStatusMatchesGoavro holds the hand-written ReceiptStatus codec
// to goavro's.
func TestReceiptStatusMatchesGoavro(t *testing.T) { schematest.CheckHandCoded(t, 2000, randStatus) }

// TestReceiptTotalMatchesGoavro holds the hand-written ReceiptTotal codec
// to goavro's.
func TestReceiptTotalMatchesGoavro(t *testing.T) { schematest.CheckHandCoded(t, 2000, randTotal) }

// fuzzDecoding: on any bytes the hand-written decoder of gen's type fails
// where the goavro-driven one does, and otherwise reads the same record
// (same as compares them).
func fuzzDecoding[T any, P interface {
	*T
	schematest.HandCoded
}](f *testing.F, gen func(*rand.Rand) schematest.HandCoded, same func(a, b *T) bool, seeds ...[]byte) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 4 {
		b, _ := gen(r).AppendAvro(nil)
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	for _, s := range seeds {
		f.Add(s)
	}
	oracle, err := structcodec.New(P(new(T)).AvroSchema().Text(), P(new(T)))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		hand, goavro := new(T), new(T)
		herr, gerr := P(hand).ReadAvro(b), oracle.Read(b, P(goavro))
		if (herr == nil) != (gerr == nil) {
			t.Fatalf("hand: %v, goavro: %v", herr, gerr)
		}
		if herr == nil && !same(hand, goavro) {
			t.Fatalf("hand %+v, goavro %+v", hand, goavro)
		}
	})
}

// FuzzReceiptDecoding: see fuzzDecoding.
func FuzzReceiptDecoding(f *testing.F) {
	// every field empty, the document among them: read as nil both ways
	fuzzDecoding[receipts.Receipt](f, randReceipt, func(a, b *receipts.Receipt) bool { return reflect.DeepEqual(a, b) },
		make([]byte, 15))
}

// FuzzReceiptStatusDecoding: see fuzzDecoding.
func FuzzReceiptStatusDecoding(f *testing.F) {
	fuzzDecoding[receipts.ReceiptStatus](f, randStatus, func(a, b *receipts.ReceiptStatus) bool { return *a == *b })
}

// FuzzReceiptTotalDecoding: see fuzzDecoding. Doubles compare bit for bit,
// NaN included.
func FuzzReceiptTotalDecoding(f *testing.F) {
	same := func(a, b *receipts.ReceiptTotal) bool {
		a2, b2 := *a, *b
		if math.Float64bits(a2.Quantity) != math.Float64bits(b2.Quantity) || math.Float64bits(a2.Amount) != math.Float64bits(b2.Amount) {
			return false
		}
		a2.Quantity, a2.Amount, b2.Quantity, b2.Amount = 0, 0, 0, 0
		return a2 == b2
	}
	nan := append(make([]byte, 8), bytes.Repeat([]byte{0xff}, 16)...) // NaN quantity and amount
	fuzzDecoding[receipts.ReceiptTotal](f, randTotal, same, append(nan, 0), nan)
}

// BenchmarkReceiptCodecs measures the hand-written Receipt (with a 2 kB
// value) and ReceiptStatus codecs against the goavro-driven default, in
// the same run: the reason they are hand-written.
func BenchmarkReceiptCodecs(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	rc := randReceipt(r).(*receipts.Receipt)
	rc.Value = `{"lines":[` + strings.Repeat(`{"sku":"ABC-123","qty":2,"price":9.99},`, 50) + `{}]}`
	rc.Document = nil // a JSON receipt's is its value
	rcOracle := newOracle(b, rc)
	benchCodec(b, "Receipt", rc, rcOracle,
		func(w []byte) error { var out receipts.Receipt; return rcOracle.Read(w, &out) },
		func(w []byte) error { var out receipts.Receipt; return out.ReadAvro(w) })
	st := randStatus(r).(*receipts.ReceiptStatus)
	stOracle := newOracle(b, st)
	benchCodec(b, "ReceiptStatus", st, stOracle,
		func(w []byte) error { var out receipts.ReceiptStatus; return stOracle.Read(w, &out) },
		func(w []byte) error { var out receipts.ReceiptStatus; return out.ReadAvro(w) })
}

func newOracle(b *testing.B, v schematest.HandCoded) *structcodec.Codec {
	c, err := structcodec.New(v.AvroSchema().Text(), v)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// benchCodec runs the encode and decode benchmarks of v, goavro's and the
// hand-written, under name.
func benchCodec(b *testing.B, name string, v schematest.HandCoded, oracle *structcodec.Codec, decodeGoavro, decodeHand func([]byte) error) {
	wire, _ := v.AppendAvro(nil)
	buf := make([]byte, 0, 4096)
	b.Run(name+"/encode/goavro", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := oracle.Append(buf[:0], v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run(name+"/encode/hand", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.AppendAvro(buf[:0]); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, d := range []struct {
		how    string
		decode func([]byte) error
	}{{"goavro", decodeGoavro}, {"hand", decodeHand}} {
		b.Run(name+"/decode/"+d.how, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := d.decode(wire); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
