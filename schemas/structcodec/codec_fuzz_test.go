package structcodec

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/linkedin/goavro/v2"
	"github.com/rationhq/ration/schemas/avrobin"
)

// allTypesSchema has a field of every mapping the struct codec supports,
// with named types defined once and referenced again.
const allTypesSchema = `{"type":"record","name":"All","namespace":"test","fields":[
	{"name":"s","type":"string"},
	{"name":"e","type":{"type":"enum","name":"Priority","symbols":["normal","high"]}},
	{"name":"b","type":"boolean"},
	{"name":"i","type":"int"},
	{"name":"i32","type":"int"},
	{"name":"l","type":"long"},
	{"name":"l64","type":"long"},
	{"name":"f","type":"float"},
	{"name":"d","type":"double"},
	{"name":"raw","type":"bytes"},
	{"name":"fix","type":{"type":"fixed","name":"Hash","size":4}},
	{"name":"ms","type":{"type":"long","logicalType":"timestamp-millis"}},
	{"name":"us","type":{"type":"long","logicalType":"timestamp-micros"}},
	{"name":"opt_s","type":["null","string"]},
	{"name":"opt_l","type":["long","null"]},
	{"name":"opt_ms","type":["null",{"type":"long","logicalType":"timestamp-millis"}]},
	{"name":"opt_e","type":["null","Priority"]},
	{"name":"opt_fix","type":["null","Hash"]},
	{"name":"rec","type":{"type":"record","name":"Inner","fields":[{"name":"id","type":"string"},{"name":"n","type":"long"}]}},
	{"name":"opt_rec","type":["null","Inner"]},
	{"name":"ints","type":{"type":"array","items":"int"}},
	{"name":"recs","type":{"type":"array","items":"Inner"}},
	{"name":"labels","type":{"type":"map","values":"string"}},
	{"name":"by_key","type":{"type":"map","values":["null","test.Inner"]}},
	{"name":"nested","type":{"type":"array","items":{"type":"map","values":{"type":"array","items":"Hash"}}}}
]}`

type allTypes struct {
	S      string                 `avro:"s"`
	E      Priority               `avro:"e"`
	B      bool                   `avro:"b"`
	I      int                    `avro:"i"`
	I32    int32                  `avro:"i32"`
	L      int                    `avro:"l"`
	L64    int64                  `avro:"l64"`
	F      float32                `avro:"f"`
	D      float64                `avro:"d"`
	Raw    []byte                 `avro:"raw"`
	Fix    [4]byte                `avro:"fix"`
	Ms     time.Time              `avro:"ms"`
	Us     time.Time              `avro:"us"`
	OptS   *string                `avro:"opt_s"`
	OptL   *int64                 `avro:"opt_l"`
	OptMs  *time.Time             `avro:"opt_ms"`
	OptE   *Priority              `avro:"opt_e"`
	OptFix *[4]byte               `avro:"opt_fix"`
	Rec    inner                  `avro:"rec"`
	OptRec *inner                 `avro:"opt_rec"`
	Ints   []int                  `avro:"ints"`
	Recs   []inner                `avro:"recs"`
	Labels map[string]string      `avro:"labels"`
	ByKey  map[string]*inner      `avro:"by_key"`
	Nested []map[string][][4]byte `avro:"nested"`
	Note   string                 // untagged: not in the schema
}

func randBytes(r *rand.Rand) []byte {
	if r.IntN(3) == 0 {
		return nil
	}
	b := make([]byte, 1+r.IntN(20))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func randFixed(r *rand.Rand) [4]byte {
	var b [4]byte
	copy(b[:], []byte{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())})
	return b
}

func randInner(r *rand.Rand) inner { return inner{ID: randString(r), N: int64(r.Uint64())} }

// maybe returns nil a third of the time, else v.
func maybe[T any](r *rand.Rand, v T) *T {
	if r.IntN(3) == 0 {
		return nil
	}
	return &v
}

// randAllTypes returns a random value whose maps have at most maxMap
// entries (goavro writes a map in Go's random order, so only maps of one
// entry have one encoding).
func randAllTypes(r *rand.Rand, maxMap int) *allTypes {
	v := &allTypes{
		S: randString(r), E: pick(r, PriorityNormal, PriorityHigh), B: r.IntN(2) == 0,
		I: int(int32(r.Uint32())), I32: int32(r.Uint32()), L: int(r.Uint64()), L64: int64(r.Uint64()),
		F: math.Float32frombits(r.Uint32()), D: math.Float64frombits(r.Uint64()),
		Raw: randBytes(r), Fix: randFixed(r),
		Ms: randOptTime(r), Us: pick(r, time.Time{}, time.UnixMicro(r.Int64N(4e15)-1e15).UTC()),
		OptS: maybe(r, randString(r)), OptL: maybe(r, int64(r.Uint64())), OptMs: maybe(r, randOptTime(r)),
		OptE: maybe(r, pick(r, PriorityNormal, PriorityHigh)), OptFix: maybe(r, randFixed(r)),
		Rec: randInner(r), OptRec: maybe(r, randInner(r)),
		Ints: randInts(r),
	}
	if len(v.Ints) == 0 {
		v.Ints = nil // an empty array decodes as nil
	}
	if !v.Ms.IsZero() {
		v.Ms = v.Ms.UTC()
	}
	if v.OptMs != nil && !v.OptMs.IsZero() {
		*v.OptMs = v.OptMs.UTC()
	}
	for range r.IntN(4) {
		v.Recs = append(v.Recs, randInner(r))
	}
	for range r.IntN(maxMap + 1) {
		if v.Labels == nil {
			v.Labels = map[string]string{}
		}
		v.Labels[randString(r)] = randString(r)
	}
	for range r.IntN(maxMap + 1) {
		if v.ByKey == nil {
			v.ByKey = map[string]*inner{}
		}
		v.ByKey[randString(r)] = maybe(r, randInner(r))
	}
	for range r.IntN(3) {
		var m map[string][][4]byte
		for range r.IntN(maxMap + 1) {
			if m == nil {
				m = map[string][][4]byte{}
			}
			var hs [][4]byte
			for range r.IntN(3) {
				hs = append(hs, randFixed(r))
			}
			m[randString(r)] = hs
		}
		v.Nested = append(v.Nested, m)
	}
	return v
}

// native is goavro's native form of v, written out by hand as the oracle.
func (v *allTypes) native() map[string]any {
	millis := func(t time.Time) time.Time { return nativeOptMillis(t) }
	micros := func(t time.Time) time.Time {
		if t.IsZero() {
			return time.UnixMicro(0)
		}
		return t
	}
	union := func(name string, p any) any {
		if reflect.ValueOf(p).IsNil() {
			return nil
		}
		return map[string]any{name: reflect.ValueOf(p).Elem().Interface()}
	}
	innerNative := func(in inner) map[string]any { return map[string]any{"id": in.ID, "n": in.N} }
	var optRec, optFix, optMs any
	if v.OptRec != nil {
		optRec = map[string]any{"test.Inner": innerNative(*v.OptRec)}
	}
	if v.OptFix != nil {
		optFix = map[string]any{"test.Hash": v.OptFix[:]}
	}
	if v.OptMs != nil {
		optMs = map[string]any{"long.timestamp-millis": millis(*v.OptMs)}
	}
	var optE any
	if v.OptE != nil {
		optE = map[string]any{"test.Priority": string(*v.OptE)}
	}
	recs := []any{}
	for _, in := range v.Recs {
		recs = append(recs, innerNative(in))
	}
	labels := map[string]any{}
	for k, s := range v.Labels {
		labels[k] = s
	}
	byKey := map[string]any{}
	for k, p := range v.ByKey {
		byKey[k] = nil
		if p != nil {
			byKey[k] = map[string]any{"test.Inner": innerNative(*p)}
		}
	}
	nested := []any{}
	for _, m := range v.Nested {
		nm := map[string]any{}
		for k, hs := range m {
			items := []any{}
			for _, h := range hs {
				items = append(items, h[:])
			}
			nm[k] = items
		}
		nested = append(nested, nm)
	}
	return map[string]any{
		"s": v.S, "e": string(v.E), "b": v.B, "i": int32(v.I), "i32": v.I32, "l": int64(v.L), "l64": v.L64,
		"f": v.F, "d": v.D, "raw": v.Raw, "fix": v.Fix[:], "ms": millis(v.Ms), "us": micros(v.Us),
		"opt_s": union("string", v.OptS), "opt_l": union("long", v.OptL), "opt_ms": optMs, "opt_e": optE,
		"opt_fix": optFix, "rec": innerNative(v.Rec), "opt_rec": optRec, "ints": nativeInts(v.Ints),
		"recs": recs, "labels": labels, "by_key": byKey, "nested": nested,
	}
}

// sameBits reports whether a and b hold the same value, floats compared
// bit for bit (NaN is NaN, -0 is not 0).
func sameBits(a, b reflect.Value) bool {
	if a.Type() != b.Type() {
		return false
	}
	switch a.Kind() {
	case reflect.Float32, reflect.Float64:
		return math.Float64bits(a.Float()) == math.Float64bits(b.Float())
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return sameBits(a.Elem(), b.Elem())
	case reflect.Struct:
		if a.Type() == timeType {
			return reflect.DeepEqual(a.Interface(), b.Interface())
		}
		for i := range a.NumField() {
			if !sameBits(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Slice, reflect.Map:
		if a.IsNil() != b.IsNil() || a.Len() != b.Len() {
			return false
		}
		if a.Kind() == reflect.Map {
			for it := a.MapRange(); it.Next(); {
				bv := b.MapIndex(it.Key())
				if !bv.IsValid() || !sameBits(it.Value(), bv) {
					return false
				}
			}
			return true
		}
		fallthrough
	case reflect.Array:
		for i := range a.Len() {
			if !sameBits(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	default:
		return a.Interface() == b.Interface()
	}
}

// TestStructCodecAllTypesMatchesGoavro: random values of every type encode
// to goavro's bytes and decode back to themselves.
func TestStructCodecAllTypesMatchesGoavro(t *testing.T) {
	c := newTestStructCodec(t, allTypesSchema, new(allTypes))
	oracle, err := goavro.NewCodec(allTypesSchema)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(9, 10))
	for i := range 2000 {
		maxMap := 1
		if i%2 == 1 {
			maxMap = 5
		}
		v := randAllTypes(r, maxMap)
		got, err := c.Append(nil, v)
		if err != nil {
			t.Fatal(err)
		}
		if maxMap == 1 {
			want, err := oracle.BinaryFromNative(nil, v.native())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%+v:\n struct %x\n goavro %x", v, got, want)
			}
		}
		var out allTypes
		if err := c.Read(got, &out); err != nil {
			t.Fatalf("decode %x: %v", got, err)
		}
		if !sameBits(reflect.ValueOf(&out), reflect.ValueOf(v)) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", out, *v)
		}
	}
}

// TestStructCodecRefusesEveryTruncation: no proper prefix of a record
// decodes.
func TestStructCodecRefusesEveryTruncation(t *testing.T) {
	c := newTestStructCodec(t, allTypesSchema, new(allTypes))
	r := rand.New(rand.NewPCG(11, 12))
	for range 50 {
		b, err := c.Append(nil, randAllTypes(r, 3))
		if err != nil {
			t.Fatal(err)
		}
		for n := range len(b) {
			var out allTypes
			if err := c.Read(b[:n], &out); err == nil {
				t.Fatalf("%x, the first %d bytes of %x, decoded", b[:n], n, b)
			}
		}
	}
}

// FuzzStructCodecDecode feeds arbitrary bytes to a record of every type:
// decoding never panics, whatever decodes re-encodes to bytes that decode
// to the same value, and the struct codec refuses only what goavro refuses
// or what ration refuses on purpose (overlong varints, ints beyond 32
// bits, as the hand-written decoders do).
func FuzzStructCodecDecode(f *testing.F) {
	c := newTestStructCodec(f, allTypesSchema, new(allTypes))
	oracle, err := goavro.NewCodec(allTypesSchema)
	if err != nil {
		f.Fatal(err)
	}
	r := rand.New(rand.NewPCG(13, 14))
	for range 8 {
		b, err := c.Append(nil, randAllTypes(r, 3))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	zero := allTypes{E: PriorityNormal}
	b, err := c.Append(nil, &zero)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte{})
	// The zero record up to "ints", then an array of 2^31-1 ints in 5
	// bytes (the record ends with five empty arrays and maps).
	f.Add(append(b[:len(b)-5:len(b)-5], 0xfe, 0xff, 0xff, 0xff, 0x0f))
	f.Fuzz(func(t *testing.T, b []byte) {
		var v1 allTypes
		err := c.Read(b, &v1)
		native, rest, goErr := oracle.NativeFromBinary(b)
		if goErr == nil && len(rest) > 0 {
			goErr = errors.New("trailing bytes")
		}
		if err != nil {
			if goErr == nil && !errors.Is(err, avrobin.ErrIntRange) && !errors.Is(err, avrobin.ErrOverflow) {
				t.Fatalf("%x: struct codec: %v; goavro decoded %v", b, err, native)
			}
			return
		}
		b2, err := c.Append(nil, &v1)
		if err != nil {
			t.Fatalf("%x decoded to %+v, which does not encode: %v", b, v1, err)
		}
		var v2 allTypes
		if err := c.Read(b2, &v2); err != nil {
			t.Fatalf("%x decoded, re-encoded to %x, which does not decode: %v", b, b2, err)
		}
		if !sameBits(reflect.ValueOf(v1), reflect.ValueOf(v2)) {
			t.Fatalf("%x decoded to\n %+v\nre-encoded to %x, which decodes to\n %+v", b, v1, b2, v2)
		}
	})
}
