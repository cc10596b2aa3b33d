package structcodec

import (
	"bytes"
	"fmt"
	"math"
	"reflect"
	"slices"
	"time"

	"github.com/rationhq/ration/schemas/avrobin"
)

// A conv moves the values of one Avro type between Go and goavro's native
// form: string, bool, int32, int64, float32, float64, []byte, time.Time,
// []any (array), map[string]any (map and record), and nil or
// map[string]any{"<branch>": value} (union). Every conv knows the field it
// serves, for errors.
type conv interface {
	// native returns goavro's native form of v.
	native(v reflect.Value) (any, error)
	// set stores n, goavro's native form, in v, which is settable. It
	// fails only if goavro gives a form it should not.
	set(v reflect.Value, n any) error
	// check walks one value in r, as goavro is about to read it, without
	// building it (reflect_check.go).
	check(r *avrobin.Reader)
	// minSize is the fewest bytes a value takes in the binary encoding.
	minSize() int
}

func unexpected(field string, n any) error {
	return fieldErr(field, fmt.Errorf("goavro gave %T", n))
}

// pointerTo returns a pointer to v if v is addressable and of type T.
func pointerTo[T any](v reflect.Value) (*T, bool) {
	if !v.CanAddr() {
		return nil, false
	}
	p, ok := v.Addr().Interface().(*T)
	return p, ok
}

type stringConv struct{ field string }

func (c *stringConv) native(v reflect.Value) (any, error) { return v.String(), nil }

func (c *stringConv) set(v reflect.Value, n any) error {
	s, ok := n.(string)
	if !ok {
		return unexpected(c.field, n)
	}
	v.SetString(s)
	return nil
}

func (c *stringConv) check(r *avrobin.Reader) { r.SkipLen(c.field) }
func (c *stringConv) minSize() int            { return 1 }

type enumConv struct {
	field   string
	symbols []string
}

func (c *enumConv) native(v reflect.Value) (any, error) {
	s := v.String()
	if !slices.Contains(c.symbols, s) {
		return nil, fieldErr(c.field, fmt.Errorf("%q is not one of %v", s, c.symbols))
	}
	return s, nil
}

func (c *enumConv) set(v reflect.Value, n any) error {
	s, ok := n.(string)
	if !ok {
		return unexpected(c.field, n)
	}
	v.SetString(s)
	return nil
}

func (c *enumConv) check(r *avrobin.Reader) {
	i := r.Long(c.field)
	if r.Err() == nil && (i < 0 || i >= int64(len(c.symbols))) {
		r.Fail(c.field, fmt.Errorf("enum index %d of %d symbols", i, len(c.symbols)))
	}
}

func (c *enumConv) minSize() int { return 1 }

type boolConv struct{ field string }

func (c *boolConv) native(v reflect.Value) (any, error) { return v.Bool(), nil }

func (c *boolConv) set(v reflect.Value, n any) error {
	b, ok := n.(bool)
	if !ok {
		return unexpected(c.field, n)
	}
	v.SetBool(b)
	return nil
}

func (c *boolConv) check(r *avrobin.Reader) { r.Bool(c.field) }
func (c *boolConv) minSize() int            { return 1 }

// intConv is an Avro int in a Go int or int32. A Go int outside 32 bits is
// an error: goavro would refuse it too, but say less.
type intConv struct{ field string }

func (c *intConv) native(v reflect.Value) (any, error) {
	x := v.Int()
	if x < math.MinInt32 || x > math.MaxInt32 {
		return nil, fieldErr(c.field, fmt.Errorf("%w: %d", avrobin.ErrIntRange, x))
	}
	return int32(x), nil
}

func (c *intConv) set(v reflect.Value, n any) error {
	x, ok := n.(int32)
	if !ok {
		return unexpected(c.field, n)
	}
	v.SetInt(int64(x))
	return nil
}

func (c *intConv) check(r *avrobin.Reader) { r.Int(c.field) }
func (c *intConv) minSize() int            { return 1 }

type longConv struct{ field string }

func (c *longConv) native(v reflect.Value) (any, error) { return v.Int(), nil }

func (c *longConv) set(v reflect.Value, n any) error {
	x, ok := n.(int64)
	if !ok {
		return unexpected(c.field, n)
	}
	if v.OverflowInt(x) { // a Go int of 32 bits
		return fieldErr(c.field, fmt.Errorf("%d overflows %s", x, v.Type()))
	}
	v.SetInt(x)
	return nil
}

func (c *longConv) check(r *avrobin.Reader) { r.Long(c.field) }
func (c *longConv) minSize() int            { return 1 }

// floatConv is an Avro float in a Go float32. reflect reads and writes a
// float32 as a float64, and the conversion quiets a signalling NaN; a
// float32 is read and written through its pointer instead, so its bits go
// through unchanged. (A named float32 type still goes through float64.)
type floatConv struct{ field string }

func (c *floatConv) native(v reflect.Value) (any, error) {
	if p, ok := pointerTo[float32](v); ok {
		return *p, nil
	}
	return float32(v.Float()), nil
}

func (c *floatConv) set(v reflect.Value, n any) error {
	x, ok := n.(float32)
	if !ok {
		return unexpected(c.field, n)
	}
	if p, ok := pointerTo[float32](v); ok {
		*p = x
		return nil
	}
	v.SetFloat(float64(x))
	return nil
}

func (c *floatConv) check(r *avrobin.Reader) { r.Skip(c.field, 4) }
func (c *floatConv) minSize() int            { return 4 }

type doubleConv struct{ field string }

func (c *doubleConv) native(v reflect.Value) (any, error) { return v.Float(), nil }

func (c *doubleConv) set(v reflect.Value, n any) error {
	x, ok := n.(float64)
	if !ok {
		return unexpected(c.field, n)
	}
	v.SetFloat(x)
	return nil
}

func (c *doubleConv) check(r *avrobin.Reader) { r.Skip(c.field, 8) }
func (c *doubleConv) minSize() int            { return 8 }

type bytesConv struct{ field string }

func (c *bytesConv) native(v reflect.Value) (any, error) { return v.Bytes(), nil }

// set copies: goavro's bytes are a slice of the input.
func (c *bytesConv) set(v reflect.Value, n any) error {
	b, ok := n.([]byte)
	if !ok {
		return unexpected(c.field, n)
	}
	if len(b) == 0 {
		v.SetZero()
		return nil
	}
	v.SetBytes(bytes.Clone(b))
	return nil
}

func (c *bytesConv) check(r *avrobin.Reader) { r.SkipLen(c.field) }
func (c *bytesConv) minSize() int            { return 1 }

type fixedConv struct {
	field string
	size  int
}

func (c *fixedConv) native(v reflect.Value) (any, error) {
	if v.CanAddr() {
		return v.Bytes(), nil
	}
	b := make([]byte, c.size) // a map's value
	reflect.Copy(reflect.ValueOf(b), v)
	return b, nil
}

func (c *fixedConv) set(v reflect.Value, n any) error {
	b, ok := n.([]byte)
	if !ok || len(b) != c.size {
		return unexpected(c.field, n)
	}
	reflect.Copy(v, reflect.ValueOf(b))
	return nil
}

func (c *fixedConv) check(r *avrobin.Reader) { r.Skip(c.field, c.size) }
func (c *fixedConv) minSize() int            { return c.size }

// timeConv is a timestamp-millis or -micros in a time.Time. The zero time
// is 0 on the wire and 0 is the zero time: ration's 0 means never.
type timeConv struct {
	field string
	unit  time.Duration // time.Millisecond or time.Microsecond
}

// The times a long of milliseconds or microseconds since the epoch holds.
var (
	minMillis, maxMillis = time.UnixMilli(math.MinInt64), time.UnixMilli(math.MaxInt64)
	minMicros, maxMicros = time.UnixMicro(math.MinInt64), time.UnixMicro(math.MaxInt64)
)

func (c *timeConv) native(v reflect.Value) (any, error) {
	var t time.Time
	if p, ok := pointerTo[time.Time](v); ok {
		t = *p // v.Interface() would copy it to the heap
	} else {
		t = v.Interface().(time.Time) // a map's value
	}
	if t.IsZero() {
		return int64(0), nil // goavro takes a number for a timestamp
	}
	lo, hi := minMillis, maxMillis
	if c.unit == time.Microsecond {
		lo, hi = minMicros, maxMicros
	}
	if t.Before(lo) || t.After(hi) {
		return nil, fieldErr(c.field, fmt.Errorf("%v does not fit a long of %v since the epoch", t, c.unit))
	}
	if c.unit == time.Microsecond {
		return t.UnixMicro(), nil
	}
	return t.UnixMilli(), nil
}

func (c *timeConv) set(v reflect.Value, n any) error {
	t, ok := n.(time.Time)
	if !ok {
		return unexpected(c.field, n)
	}
	if c.unit == time.Millisecond && t.UnixMilli() == 0 || c.unit == time.Microsecond && t.UnixMicro() == 0 {
		t = time.Time{}
	}
	if p, ok := pointerTo[time.Time](v); ok {
		*p = t
	} else {
		v.Set(reflect.ValueOf(t))
	}
	return nil
}

func (c *timeConv) check(r *avrobin.Reader) { r.Long(c.field) }
func (c *timeConv) minSize() int            { return 1 }

// unionConv is ["null", T] or [T, "null"] in a *T.
type unionConv struct {
	field  string
	nullAt int          // the index of the null branch
	branch string       // goavro's name of T
	elem   reflect.Type // T
	value  conv         // T's
}

func (c *unionConv) native(v reflect.Value) (any, error) {
	if v.IsNil() {
		return nil, nil
	}
	x, err := c.value.native(v.Elem())
	if err != nil {
		return nil, err
	}
	return map[string]any{c.branch: x}, nil
}

func (c *unionConv) set(v reflect.Value, n any) error {
	if n == nil {
		v.SetZero()
		return nil
	}
	m, ok := n.(map[string]any)
	x, found := m[c.branch]
	if !ok || !found {
		return unexpected(c.field, n)
	}
	p := reflect.New(c.elem)
	if err := c.value.set(p.Elem(), x); err != nil {
		return err
	}
	v.Set(p)
	return nil
}

func (c *unionConv) check(r *avrobin.Reader) {
	i := r.Long(c.field)
	switch {
	case r.Err() != nil || i == int64(c.nullAt):
	case i == int64(1-c.nullAt):
		c.value.check(r)
	default:
		r.Fail(c.field, fmt.Errorf("union branch %d of 2", i))
	}
}

func (c *unionConv) minSize() int { return 1 }

type arrayConv struct {
	field string
	items conv
}

func (c *arrayConv) native(v reflect.Value) (any, error) {
	out := make([]any, v.Len())
	for i := range out {
		x, err := c.items.native(v.Index(i))
		if err != nil {
			return nil, err
		}
		out[i] = x
	}
	return out, nil
}

func (c *arrayConv) set(v reflect.Value, n any) error {
	xs, ok := n.([]any)
	if !ok {
		return unexpected(c.field, n)
	}
	if len(xs) == 0 {
		v.SetZero()
		return nil
	}
	s := reflect.MakeSlice(v.Type(), len(xs), len(xs))
	for i, x := range xs {
		if err := c.items.set(s.Index(i), x); err != nil {
			return err
		}
	}
	v.Set(s)
	return nil
}

func (c *arrayConv) check(r *avrobin.Reader) {
	for {
		n := r.BlockCount(c.field, c.items.minSize())
		if n == 0 {
			return
		}
		for range n {
			c.items.check(r)
			if r.Err() != nil {
				return
			}
		}
	}
}

func (c *arrayConv) minSize() int { return 1 }

type mapConv struct {
	field  string
	values conv
}

func (c *mapConv) native(v reflect.Value) (any, error) {
	out := make(map[string]any, v.Len())
	for it := v.MapRange(); it.Next(); {
		x, err := c.values.native(it.Value())
		if err != nil {
			return nil, err
		}
		out[it.Key().String()] = x
	}
	return out, nil
}

func (c *mapConv) set(v reflect.Value, n any) error {
	m, ok := n.(map[string]any)
	if !ok {
		return unexpected(c.field, n)
	}
	if len(m) == 0 {
		v.SetZero()
		return nil
	}
	t := v.Type()
	out := reflect.MakeMapWithSize(t, len(m))
	for k, x := range m {
		e := reflect.New(t.Elem()).Elem()
		if err := c.values.set(e, x); err != nil {
			return err
		}
		out.SetMapIndex(reflect.ValueOf(k).Convert(t.Key()), e)
	}
	v.Set(out)
	return nil
}

func (c *mapConv) check(r *avrobin.Reader) {
	for {
		// An entry is a key (at least its length) and a value.
		n := r.BlockCount(c.field, 1+c.values.minSize())
		if n == 0 {
			return
		}
		for range n {
			r.SkipLen(c.field)
			c.values.check(r)
			if r.Err() != nil {
				return
			}
		}
	}
}

func (c *mapConv) minSize() int { return 1 }

type recordField struct {
	name  string // in the schema
	index int    // in the struct
	conv  conv
}

type recordConv struct {
	field  string
	fields []recordField
}

func (c *recordConv) native(v reflect.Value) (any, error) {
	out := make(map[string]any, len(c.fields))
	for _, f := range c.fields {
		x, err := f.conv.native(v.Field(f.index))
		if err != nil {
			return nil, err
		}
		out[f.name] = x
	}
	return out, nil
}

func (c *recordConv) set(v reflect.Value, n any) error {
	m, ok := n.(map[string]any)
	if !ok {
		return unexpected(c.field, n)
	}
	for _, f := range c.fields {
		if err := f.conv.set(v.Field(f.index), m[f.name]); err != nil {
			return err
		}
	}
	return nil
}

func (c *recordConv) check(r *avrobin.Reader) {
	for _, f := range c.fields {
		f.conv.check(r)
	}
}

func (c *recordConv) minSize() int {
	n := 0
	for _, f := range c.fields {
		n += f.conv.minSize()
	}
	return n
}
