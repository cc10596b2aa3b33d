package dm

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/rationhq/ration/schemas/schematest"
	"github.com/rationhq/ration/schemas/structcodec"
)

func randUser(r *rand.Rand) schematest.HandCoded {
	return &User{UserID: schematest.String(r), RegisteredAt: schematest.OptTime(r)}
}

func randMark(r *rand.Rand) schematest.HandCoded {
	return &Mark{UserID: schematest.String(r), Priority: schematest.Pick(r, PriorityNormal, PriorityHigh), MarkedAt: schematest.OptTime(r)}
}

func randResult(r *rand.Rand) schematest.HandCoded {
	res := &Result{
		UserID: schematest.String(r), Priority: schematest.Pick(r, PriorityNormal, PriorityHigh),
		MarkedAt: schematest.OptTime(r), CheckedAt: schematest.OptTime(r), Status: ResultFailed,
		Attempts: int(int32(r.Uint32())), Worker: schematest.String(r), Error: schematest.String(r),
	}
	if r.IntN(2) == 0 {
		open := r.IntN(2) == 0
		res.Status, res.OpenDM, res.Error = ResultChecked, &open, ""
	}
	return res
}

// TestRecordsMatchGoavro holds the hand-written codecs of the DM's
// per-item records to goavro's.
func TestRecordsMatchGoavro(t *testing.T) {
	schematest.CheckHandCoded(t, 2000, randUser)
	schematest.CheckHandCoded(t, 2000, randMark)
	schematest.CheckHandCoded(t, 2000, randResult)
}

// FuzzRecordDecoding: on any bytes each hand-written decoder fails where
// the goavro-driven one does, and otherwise reads the same record.
func FuzzRecordDecoding(f *testing.F) {
	gens := []func(*rand.Rand) schematest.HandCoded{randUser, randMark, randResult}
	oracles := make([]*structcodec.Codec, len(gens))
	r := rand.New(rand.NewPCG(7, 8))
	for i, gen := range gens {
		v := gen(r)
		c, err := structcodec.New(v.AvroSchema().Text(), v)
		if err != nil {
			f.Fatal(err)
		}
		oracles[i] = c
		b, _ := v.AppendAvro(nil)
		f.Add(uint8(i), b)
	}
	f.Add(uint8(2), []byte{0x02, 0x61, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, which uint8, b []byte) {
		i := int(which) % len(gens)
		typ := reflect.TypeOf(gens[i](r)).Elem()
		hand := reflect.New(typ).Interface().(schematest.HandCoded)
		viaGoavro := reflect.New(typ).Interface().(schematest.HandCoded)
		herr, gerr := hand.ReadAvro(b), oracles[i].Read(b, viaGoavro)
		if (herr == nil) != (gerr == nil) {
			t.Fatalf("%s: hand: %v, goavro: %v", typ.Name(), herr, gerr)
		}
		if herr == nil && !reflect.DeepEqual(hand, viaGoavro) {
			t.Fatalf("%s: hand %+v, goavro %+v", typ.Name(), hand, viaGoavro)
		}
	})
}
