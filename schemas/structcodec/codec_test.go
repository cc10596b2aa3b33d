package structcodec

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/linkedin/goavro/v2"
	"github.com/rationhq/ration/schemas/avrobin"
)

// one is a record of one field, x.
type one[T any] struct {
	X T `avro:"x"`
}

// oneSchema is the schema of a record test.R of one field x of fieldType.
func oneSchema(fieldType string) string {
	return `{"type":"record","name":"R","namespace":"test","fields":[{"name":"x","type":` + fieldType + `}]}`
}

type inner struct {
	ID string `avro:"id"`
	N  int64  `avro:"n"`
}

const (
	innerSchema = `{"type":"record","name":"Inner","fields":[{"name":"id","type":"string"},{"name":"n","type":"long"}]}`
	tsMillis    = `{"type":"long","logicalType":"timestamp-millis"}`
	tsMicros    = `{"type":"long","logicalType":"timestamp-micros"}`
)

type tier int

func newTestStructCodec(t testing.TB, schema string, prototype any) *Codec {
	t.Helper()
	c, err := New(schema, prototype)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// roundTrip decodes b into a new value of v's type and fails t unless it
// equals v.
func roundTrip(t *testing.T, c *Codec, b []byte, v any) {
	t.Helper()
	out := reflect.New(reflect.TypeOf(v).Elem()).Interface()
	if err := c.Read(b, out); err != nil {
		t.Fatalf("decode %x: %v", b, err)
	}
	if !reflect.DeepEqual(out, v) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", out, v)
	}
}

// TestStructCodecMappings: every mapping encodes to goavro's bytes for the
// equivalent native form, and decodes back to the value it started from.
func TestStructCodecMappings(t *testing.T) {
	ms := time.UnixMilli(1_700_000_000_123).UTC()
	us := time.UnixMicro(1_700_000_000_123_456).UTC()
	before1970 := time.UnixMilli(-86_400_123).UTC()
	s := "s"
	for _, tc := range []struct {
		name      string
		fieldType string
		value     any // a *one[T]
		native    any // goavro's native form of x
	}{
		{"string", `"string"`, &one[string]{"héllo, 漢"}, "héllo, 漢"},
		{"empty string", `"string"`, &one[string]{""}, ""},
		{"string in a named type", `"string"`, &one[Priority]{PriorityHigh}, "high"},
		{"enum", `{"type":"enum","name":"P","symbols":["normal","high"]}`, &one[Priority]{PriorityHigh}, "high"},
		{"enum in a string", `{"type":"enum","name":"P","symbols":["normal","high"]}`, &one[string]{"normal"}, "normal"},
		{"boolean true", `"boolean"`, &one[bool]{true}, true},
		{"boolean false", `"boolean"`, &one[bool]{false}, false},
		{"int in an int, max", `"int"`, &one[int]{math.MaxInt32}, int32(math.MaxInt32)},
		{"int in an int, min", `"int"`, &one[int]{math.MinInt32}, int32(math.MinInt32)},
		{"int in an int32", `"int"`, &one[int32]{-7}, int32(-7)},
		{"int in a named type", `"int"`, &one[tier]{3}, int32(3)},
		{"long in an int", `"long"`, &one[int]{1 << 40}, int64(1 << 40)},
		{"long in an int64, min", `"long"`, &one[int64]{math.MinInt64}, int64(math.MinInt64)},
		{"long in an int64, max", `"long"`, &one[int64]{math.MaxInt64}, int64(math.MaxInt64)},
		{"float", `"float"`, &one[float32]{1.5}, float32(1.5)},
		{"float, smallest", `"float"`, &one[float32]{math.SmallestNonzeroFloat32}, float32(math.SmallestNonzeroFloat32)},
		{"double", `"double"`, &one[float64]{-2.25e300}, -2.25e300},
		{"double, infinity", `"double"`, &one[float64]{math.Inf(-1)}, math.Inf(-1)},
		{"bytes", `"bytes"`, &one[[]byte]{[]byte{0, 1, 0xff}}, []byte{0, 1, 0xff}},
		{"empty bytes are nil", `"bytes"`, &one[[]byte]{nil}, []byte{}},
		{"fixed", `{"type":"fixed","name":"F","size":4}`, &one[[4]byte]{[4]byte{1, 2, 3, 4}}, []byte{1, 2, 3, 4}},
		{"timestamp-millis", tsMillis, &one[time.Time]{ms}, ms},
		{"timestamp-millis before 1970", tsMillis, &one[time.Time]{before1970}, before1970},
		{"timestamp-millis, the zero time is 0", tsMillis, &one[time.Time]{}, time.UnixMilli(0)},
		{"timestamp-micros", tsMicros, &one[time.Time]{us}, us},
		{"timestamp-micros, the zero time is 0", tsMicros, &one[time.Time]{}, time.UnixMicro(0)},
		{"union, null", `["null","string"]`, &one[*string]{nil}, nil},
		{"union, string", `["null","string"]`, &one[*string]{&s}, map[string]any{"string": "s"}},
		{"union, null last, string", `["string","null"]`, &one[*string]{&s}, map[string]any{"string": "s"}},
		{"union, null last, null", `["string","null"]`, &one[*string]{nil}, nil},
		{"union with a timestamp", `["null",` + tsMillis + `]`, &one[*time.Time]{&ms}, map[string]any{"long.timestamp-millis": ms}},
		{"union with a record", `["null",` + innerSchema + `]`, &one[*inner]{&inner{"a", 5}},
			map[string]any{"test.Inner": map[string]any{"id": "a", "n": int64(5)}}},
		{"union with an array", `["null",{"type":"array","items":"int"}]`, &one[*[]int]{&[]int{1, 2}},
			map[string]any{"array": []any{int32(1), int32(2)}}},
		{"array", `{"type":"array","items":"int"}`, &one[[]int]{[]int{1, -2, math.MaxInt32}}, []any{int32(1), int32(-2), int32(math.MaxInt32)}},
		{"empty array is nil", `{"type":"array","items":"int"}`, &one[[]int]{nil}, []any{}},
		{"array of records", `{"type":"array","items":` + innerSchema + `}`, &one[[]inner]{[]inner{{"a", 1}, {"b", -2}}},
			[]any{map[string]any{"id": "a", "n": int64(1)}, map[string]any{"id": "b", "n": int64(-2)}}},
		{"array of arrays", `{"type":"array","items":{"type":"array","items":"string"}}`, &one[[][]string]{[][]string{{"a"}, {"b", "c"}}},
			[]any{[]any{"a"}, []any{"b", "c"}}},
		// Maps of one entry: goavro writes a map in Go's random order.
		{"map", `{"type":"map","values":"long"}`, &one[map[string]int64]{map[string]int64{"a": 1}}, map[string]any{"a": int64(1)}},
		{"map with a named key type", `{"type":"map","values":"boolean"}`, &one[map[Priority]bool]{map[Priority]bool{PriorityHigh: true}},
			map[string]any{"high": true}},
		{"empty map is nil", `{"type":"map","values":"long"}`, &one[map[string]int64]{nil}, map[string]any{}},
		{"map of fixed", `{"type":"map","values":{"type":"fixed","name":"F","size":2}}`, &one[map[string][2]byte]{map[string][2]byte{"k": {1, 2}}},
			map[string]any{"k": []byte{1, 2}}},
		{"map of timestamps", `{"type":"map","values":` + tsMillis + `}`, &one[map[string]time.Time]{map[string]time.Time{"k": ms}},
			map[string]any{"k": ms}},
		{"record", innerSchema, &one[inner]{inner{"a", -1}}, map[string]any{"id": "a", "n": int64(-1)}},
		{"a logical type goavro ignores", `{"type":"string","logicalType":"uuid"}`, &one[string]{"0f8fad5b-d9cb-469f-a165-70867728950e"},
			"0f8fad5b-d9cb-469f-a165-70867728950e"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			schema := oneSchema(tc.fieldType)
			c := newTestStructCodec(t, schema, tc.value)
			oracle, err := goavro.NewCodec(schema)
			if err != nil {
				t.Fatal(err)
			}
			want, err := oracle.BinaryFromNative(nil, map[string]any{"x": tc.native})
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Append(nil, tc.value)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("struct codec %x, goavro %x", got, want)
			}
			roundTrip(t, c, got, tc.value)
		})
	}
}

// TestStructCodecLargeMaps round-trips maps of many entries, whose bytes
// depend on Go's map order.
func TestStructCodecLargeMaps(t *testing.T) {
	v := &one[map[string]int64]{map[string]int64{}}
	for i := range 100 {
		v.X[strings.Repeat("k", i+1)] = int64(i) << 33
	}
	c := newTestStructCodec(t, oneSchema(`{"type":"map","values":"long"}`), v)
	b, err := c.Append(nil, v)
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, c, b, v)
}

// TestStructCodecNames: named types are found as goavro finds them (by
// short name in the enclosing namespace, by full name from another one, a
// dotted name as a full name), union branches are named as goavro names
// them, and a logical type on the field itself, which goavro honours, is
// honoured.
func TestStructCodecNames(t *testing.T) {
	const schema = `{"type":"record","name":"Outer","namespace":"a","fields":[
		{"name":"p","type":{"type":"enum","name":"Priority","symbols":["normal","high"]}},
		{"name":"q","type":"Priority"},
		{"name":"r","type":["null","Priority"]},
		{"name":"other","type":{"type":"record","name":"Other","namespace":"b","fields":[
			{"name":"h","type":{"type":"fixed","name":"Hash","size":2}},
			{"name":"p","type":"a.Priority"},
			{"name":"oh","type":["Hash","null"]}
		]}},
		{"name":"h","type":"b.Hash"},
		{"name":"dotted","type":["null",{"type":"record","name":"c.Dotted","fields":[{"name":"s","type":"string"}]}]},
		{"name":"t","type":"long","logicalType":"timestamp-millis"}
	]}`
	type other struct {
		H  [2]byte  `avro:"h"`
		P  Priority `avro:"p"`
		OH *[2]byte `avro:"oh"`
	}
	type dotted struct {
		S string `avro:"s"`
	}
	type outer struct {
		P      Priority  `avro:"p"`
		Q      Priority  `avro:"q"`
		R      *Priority `avro:"r"`
		Other  other     `avro:"other"`
		H      [2]byte   `avro:"h"`
		Dotted *dotted   `avro:"dotted"`
		T      time.Time `avro:"t"`
	}
	v := &outer{P: PriorityNormal, Q: PriorityHigh, R: ptr(PriorityHigh), Other: other{H: [2]byte{7, 8}, P: PriorityHigh, OH: &[2]byte{5, 6}},
		H: [2]byte{9, 10}, Dotted: &dotted{S: "x"}, T: time.UnixMilli(42).UTC()}
	native := map[string]any{
		"p": "normal", "q": "high", "r": map[string]any{"a.Priority": "high"},
		"other":  map[string]any{"h": []byte{7, 8}, "p": "high", "oh": map[string]any{"b.Hash": []byte{5, 6}}},
		"h":      []byte{9, 10},
		"dotted": map[string]any{"c.Dotted": map[string]any{"s": "x"}},
		"t":      time.UnixMilli(42),
	}
	c := newTestStructCodec(t, schema, v)
	oracle, err := goavro.NewCodec(schema)
	if err != nil {
		t.Fatal(err)
	}
	want, err := oracle.BinaryFromNative(nil, native)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Append(nil, v)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("struct codec %x, goavro %x", got, want)
	}
	roundTrip(t, c, got, v)
}

func TestStructCodecLeavesUntaggedFieldsAlone(t *testing.T) {
	type withExtra struct {
		X     string `avro:"x"`
		Cache int
	}
	c := newTestStructCodec(t, oneSchema(`"string"`), new(withExtra))
	b, err := c.Append(nil, &withExtra{X: "a", Cache: 1})
	if err != nil {
		t.Fatal(err)
	}
	out := withExtra{Cache: 7}
	if err := c.Read(b, &out); err != nil {
		t.Fatal(err)
	}
	if out != (withExtra{X: "a", Cache: 7}) {
		t.Fatalf("decoded %+v", out)
	}
}

// TestStructCodecDecodedBytesAreCopies: decoded bytes do not alias the
// input, which the caller may reuse.
func TestStructCodecDecodedBytesAreCopies(t *testing.T) {
	c := newTestStructCodec(t, oneSchema(`"bytes"`), new(one[[]byte]))
	b := []byte{0x04, 1, 2}
	var out one[[]byte]
	if err := c.Read(b, &out); err != nil {
		t.Fatal(err)
	}
	b[1] = 9
	if !bytes.Equal(out.X, []byte{1, 2}) {
		t.Fatalf("decoded bytes changed with the input: %v", out.X)
	}
}

func TestNewStructCodecErrors(t *testing.T) {
	type list struct {
		Next *list `avro:"next"`
	}
	type empty struct{}
	for _, tc := range []struct {
		name      string
		schema    string
		prototype any
		want      string // in the error
	}{
		{"prototype not a pointer", oneSchema(`"string"`), one[string]{}, "not a pointer to a struct"},
		{"nil prototype", oneSchema(`"string"`), nil, "not a pointer to a struct"},
		{"pointer to a non-struct", oneSchema(`"string"`), new(string), "not a pointer to a struct"},
		{"invalid schema", `{"type":"record","name":"R"}`, new(one[string]), "fields"},
		{"not a record", `"string"`, new(one[string]), "not a record"},
		{"schema field missing from the struct", `{"type":"record","name":"R","fields":[{"name":"x","type":"string"},{"name":"y","type":"int"}]}`,
			new(one[string]), `field y: no struct field`},
		{"tagged field missing from the schema", oneSchema(`"string"`), new(struct {
			X string `avro:"x"`
			Z int    `avro:"z"`
		}), `field z: struct field`},
		{"two fields with one tag", oneSchema(`"string"`), new(struct {
			X string `avro:"x"`
			Y string `avro:"x"`
		}), "field x: struct fields"},
		{"unexported tagged field", oneSchema(`"string"`), new(struct {
			x string `avro:"x"` //nolint:unused // the point of the test
		}), "field x: struct field"},
		{"wrong type", oneSchema(`"long"`), new(one[string]), "field x: Avro long needs Go int or int64, not string"},
		{"wrong type in a nested record", oneSchema(`{"type":"record","name":"N","fields":[{"name":"y","type":"int"}]}`),
			new(one[struct {
				Y string `avro:"y"`
			}]), "field x.y: Avro int needs"},
		{"wrong type in an array", oneSchema(`{"type":"array","items":"int"}`), new(one[[]string]), "field x[]: Avro int needs"},
		{"wrong type in a map", oneSchema(`{"type":"map","values":"int"}`), new(one[map[string]string]), "field x{}: Avro int needs"},
		{"map with a non-string key", oneSchema(`{"type":"map","values":"int"}`), new(one[map[int]int]), "field x: Avro map needs Go map with a string-kind key, not map[int]int"},
		{"int in an int64", oneSchema(`"int"`), new(one[int64]), "field x: Avro int needs Go int or int32"},
		{"long in an int32", oneSchema(`"long"`), new(one[int32]), "field x: Avro long needs"},
		{"float in a float64", oneSchema(`"float"`), new(one[float64]), "field x: Avro float needs Go float32"},
		{"double in a float32", oneSchema(`"double"`), new(one[float32]), "field x: Avro double needs Go float64"},
		{"bytes in a string", oneSchema(`"bytes"`), new(one[string]), "field x: Avro bytes needs"},
		{"enum in an int", oneSchema(`{"type":"enum","name":"P","symbols":["a"]}`), new(one[int]), "field x: Avro enum test.P needs Go string kind, not int"},
		{"timestamp in an int64", oneSchema(tsMillis), new(one[int64]), "field x: Avro long.timestamp-millis needs Go time.Time"},
		{"fixed of another size", oneSchema(`{"type":"fixed","name":"F","size":4}`), new(one[[3]byte]), "field x: Avro fixed test.F of size 4"},
		{"fixed in a slice", oneSchema(`{"type":"fixed","name":"F","size":4}`), new(one[[]byte]), "field x: Avro fixed"},
		{"union in a non-pointer", oneSchema(`["null","string"]`), new(one[string]), "field x: Avro union with null needs Go pointer, not string"},
		{"union of three", oneSchema(`["null","string","int"]`), new(one[*string]), "field x: only a union of null"},
		{"union without null", oneSchema(`["string","int"]`), new(one[*string]), "field x: only a union of null"},
		{"null field", oneSchema(`"null"`), new(one[*string]), "field x: null is supported only in a union"},
		{"recursive record", `{"type":"record","name":"L","fields":[{"name":"next","type":["null","L"]}]}`, new(list), "field next: record L is recursive"},
		{"date", oneSchema(`{"type":"int","logicalType":"date"}`), new(one[time.Time]), "field x: logical type int.date is not supported"},
		{"decimal", oneSchema(`{"type":"bytes","logicalType":"decimal","precision":4,"scale":2}`), new(one[[]byte]), "field x: logical type bytes.decimal"},
		{"array of items that take no bytes", oneSchema(`{"type":"array","items":{"type":"record","name":"E","fields":[]}}`),
			new(one[[]empty]), "field x: an array of items that take no bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.schema, tc.prototype)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestStructCodecEncodeErrors(t *testing.T) {
	farFuture := time.Date(300_000, 1, 1, 0, 0, 0, 0, time.UTC) // beyond a long of micros
	farPast := time.Unix(math.MinInt64/1000-1, 0)               // before a long of millis
	for _, tc := range []struct {
		name   string
		schema string
		value  any
		is     error  // errors.Is, if set
		want   string // in the error
	}{
		{"int above 32 bits", oneSchema(`"int"`), &one[int]{math.MaxInt32 + 1}, avrobin.ErrIntRange, "field x: "},
		{"int below 32 bits", oneSchema(`"int"`), &one[int]{math.MinInt32 - 1}, avrobin.ErrIntRange, "field x: "},
		{"int beyond 32 bits in an array", oneSchema(`{"type":"array","items":"int"}`), &one[[]int]{[]int{1, 1 << 40}}, avrobin.ErrIntRange, "field x[]: "},
		{"int beyond 32 bits in a union", oneSchema(`["null","int"]`), &one[*int]{ptr(1 << 32)}, avrobin.ErrIntRange, "field x: "},
		{"int beyond 32 bits in a nested record", oneSchema(`{"type":"record","name":"N","fields":[{"name":"y","type":"int"}]}`),
			&one[struct {
				Y int `avro:"y"`
			}]{struct {
				Y int `avro:"y"`
			}{-1 << 35}}, avrobin.ErrIntRange, "field x.y: "},
		{"timestamp-micros beyond a long", oneSchema(tsMicros), &one[time.Time]{farFuture}, nil, "field x: "},
		{"timestamp-millis beyond a long", oneSchema(tsMillis), &one[time.Time]{farPast}, nil, "field x: "},
		{"unknown enum symbol", oneSchema(`{"type":"enum","name":"P","symbols":["normal","high"]}`), &one[Priority]{"urgent"}, nil,
			`field x: "urgent" is not one of [normal high]`},
		{"unknown enum symbol in a map", oneSchema(`{"type":"map","values":{"type":"enum","name":"P","symbols":["a"]}}`),
			&one[map[string]string]{map[string]string{"k": "b"}}, nil, `field x{}: "b" is not one of [a]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestStructCodec(t, tc.schema, tc.value)
			b, err := c.Append([]byte("kept"), tc.value)
			if err == nil {
				t.Fatalf("encoded %x", b)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("err = %v, want %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
			if string(b) != "kept" {
				t.Fatalf("on error, b = %q, want it as it was", b)
			}
		})
	}
}

func TestStructCodecRefusesValuesOfOtherTypes(t *testing.T) {
	c := newTestStructCodec(t, oneSchema(`"string"`), new(one[string]))
	for _, tc := range []struct {
		name string
		v    any
		want string
	}{
		{"another type", &one[int]{}, "given *structcodec.one[int]"},
		{"a struct, not a pointer", one[string]{}, "given structcodec.one[string]"},
		{"nil", nil, "given <nil>"},
		{"nil pointer", (*one[string])(nil), "given a nil pointer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := c.Append(nil, tc.v); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Append: err = %v, want one containing %q", err, tc.want)
			}
			if err := c.Read([]byte{0}, tc.v); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Read: err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestStructCodecRefusesMalformedInput: every malformed input is an error,
// found before goavro allocates for it.
func TestStructCodecRefusesMalformedInput(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fieldType string
		prototype any
		b         []byte
		is        error // errors.Is, if set
	}{
		{"nothing", `"string"`, new(one[string]), nil, avrobin.ErrShort},
		{"string cut short", `"string"`, new(one[string]), []byte{0x06, 'a'}, nil},
		{"negative string length", `"string"`, new(one[string]), []byte{0x01}, nil},
		{"trailing byte", `"string"`, new(one[string]), []byte{0x00, 0x00}, nil},
		{"int beyond 32 bits", `"int"`, new(one[int]), []byte{0x80, 0x80, 0x80, 0x80, 0x10}, avrobin.ErrIntRange},
		{"long beyond 64 bits", `"long"`, new(one[int64]), bytes.Repeat([]byte{0xff}, 11), avrobin.ErrOverflow},
		{"varint without an end", `"long"`, new(one[int64]), []byte{0xff, 0xff}, avrobin.ErrShort},
		{"boolean byte 2", `"boolean"`, new(one[bool]), []byte{0x02}, nil},
		{"enum index beyond the symbols", `{"type":"enum","name":"P","symbols":["a","b"]}`, new(one[string]), []byte{0x04}, nil},
		{"negative enum index", `{"type":"enum","name":"P","symbols":["a","b"]}`, new(one[string]), []byte{0x01}, nil},
		{"union branch 2", `["null","string"]`, new(one[*string]), []byte{0x04}, nil},
		{"union branch -1", `["null","string"]`, new(one[*string]), []byte{0x01}, nil},
		{"fixed cut short", `{"type":"fixed","name":"F","size":4}`, new(one[[4]byte]), []byte{1, 2, 3}, avrobin.ErrShort},
		{"float cut short", `"float"`, new(one[float32]), []byte{1, 2, 3}, avrobin.ErrShort},
		{"double cut short", `"double"`, new(one[float64]), []byte{1, 2, 3, 4, 5, 6, 7}, avrobin.ErrShort},
		{"timestamp beyond 64 bits", tsMillis, new(one[time.Time]), bytes.Repeat([]byte{0x80}, 11), avrobin.ErrOverflow},
		// 2^31-1 items in 5 bytes: goavro's default MaxBlockCount lets it
		// ask for 32 GiB.
		{"array of 2^31-1 items", `{"type":"array","items":"int"}`, new(one[[]int]), []byte{0xfe, 0xff, 0xff, 0xff, 0x0f}, avrobin.ErrBlockCount},
		{"array count beyond the bytes left", `{"type":"array","items":"int"}`, new(one[[]int]), []byte{0x06, 0x02, 0x00}, avrobin.ErrBlockCount},
		{"array of records, count beyond their size", `{"type":"array","items":` + innerSchema + `}`, new(one[[]inner]),
			[]byte{0x04, 0x00, 0x00, 0x00}, avrobin.ErrBlockCount},
		{"negative array count beyond the bytes left", `{"type":"array","items":"int"}`, new(one[[]int]),
			[]byte{0xfd, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x02, 0x00}, avrobin.ErrBlockCount},
		{"minimum long array count", `{"type":"array","items":"int"}`, new(one[[]int]),
			[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, avrobin.ErrBlockCount},
		{"array without an end", `{"type":"array","items":"int"}`, new(one[[]int]), []byte{0x02, 0x02}, avrobin.ErrShort},
		{"array block without a size", `{"type":"array","items":"int"}`, new(one[[]int]), []byte{0x01}, avrobin.ErrShort},
		{"map of 2^31-1 entries", `{"type":"map","values":"int"}`, new(one[map[string]int]), []byte{0xfe, 0xff, 0xff, 0xff, 0x0f}, avrobin.ErrBlockCount},
		{"map entries beyond the bytes left", `{"type":"map","values":"int"}`, new(one[map[string]int]), []byte{0x06, 0x02, 'a', 0x02, 0x00}, avrobin.ErrBlockCount},
		{"map with a key twice", `{"type":"map","values":"int"}`, new(one[map[string]int]),
			[]byte{0x04, 0x02, 'a', 0x02, 0x02, 'a', 0x04, 0x00}, nil},
		{"array of 2^31-1 in a union", `["null",{"type":"array","items":"long"}]`, new(one[*[]int64]),
			[]byte{0x02, 0xfe, 0xff, 0xff, 0xff, 0x0f}, avrobin.ErrBlockCount},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestStructCodec(t, oneSchema(tc.fieldType), tc.prototype)
			err := c.Read(tc.b, tc.prototype)
			if err == nil {
				t.Fatalf("decoded %x as %+v", tc.b, tc.prototype)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("err = %v, want %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), "field x") && !strings.Contains(err.Error(), "goavro") && !strings.Contains(err.Error(), "trailing") {
				t.Fatalf("err = %v, names neither the field nor goavro", err)
			}
		})
	}
}

// TestStructCodecKeepsFloatBits: a signalling NaN keeps its bits both ways
// (a float32 converted through float64 would come back quieted).
func TestStructCodecKeepsFloatBits(t *testing.T) {
	const bits = 0x7f800001
	c := newTestStructCodec(t, oneSchema(`"float"`), new(one[float32]))
	b, err := c.Append(nil, &one[float32]{math.Float32frombits(bits)})
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{0x01, 0x00, 0x80, 0x7f}; !bytes.Equal(b, want) {
		t.Fatalf("encoded %x, want %x", b, want)
	}
	var out one[float32]
	if err := c.Read(b, &out); err != nil {
		t.Fatal(err)
	}
	if got := math.Float32bits(out.X); got != bits {
		t.Fatalf("decoded bits %#x, want %#x", got, bits)
	}
}
