package avrobin

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"testing"
)

// TestInts: arrays of int decode from any valid block layout and refuse
// bad ones.
func TestInts(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
		want []int // unchecked when err
		err  bool
	}{
		{"empty", []byte{0x00}, nil, false},
		{"one block", []byte{0x06, 0x02, 0x00, 0x7f, 0x00}, []int{1, 0, -64}, false},
		{"negative count, then a second block", []byte{0x03, 0x04, 0x02, 0x04, 0x02, 0x06, 0x00}, []int{1, 2, 3}, false},
		{"count beyond the bytes left", []byte{0xfe, 0xff, 0xff, 0xff, 0x0f, 0x02, 0x00}, nil, true},
		{"negative count beyond the bytes left", []byte{0xfd, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x02, 0x00}, nil, true},
		{"minimum long count", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, nil, true},
		{"int beyond 32 bits", []byte{0x02, 0x80, 0x80, 0x80, 0x80, 0x10, 0x00}, nil, true},
		{"no end", []byte{0x02, 0x02}, nil, true},
		{"no block size", []byte{0x01}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(tc.b)
			got := r.Ints("seqs")
			err := r.Done()
			if (err != nil) != tc.err {
				t.Fatalf("err = %v, want error %v", err, tc.err)
			}
			if !tc.err && !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ints = %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestAppendIntsWritesOneBlock(t *testing.T) {
	for _, tc := range []struct {
		in   []int
		want []byte
	}{
		{nil, []byte{0x00}},
		{[]int{}, []byte{0x00}},
		{[]int{1, 0, -64}, []byte{0x06, 0x02, 0x00, 0x7f, 0x00}},
	} {
		if got := AppendInts(nil, tc.in); !bytes.Equal(got, tc.want) {
			t.Errorf("%v: %x; want %x", tc.in, got, tc.want)
		}
	}
}

func TestReaderRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
		read func(*Reader)
		want error
	}{
		{"overlong varint", bytes.Repeat([]byte{0xff}, 11), func(r *Reader) { r.Long("x") }, ErrOverflow},
		{"int beyond 32 bits", []byte{0x80, 0x80, 0x80, 0x80, 0x10}, func(r *Reader) { r.Int("x") }, ErrIntRange},
		{"string past the end", []byte{0x08, 'a'}, func(r *Reader) { _ = r.String("x") }, nil},
		{"nothing to read", nil, func(r *Reader) { r.Bool("x") }, ErrShort},
		{"block count beyond the bytes", []byte{0x7e}, func(r *Reader) { r.BlockCount("x", 1) }, ErrBlockCount},
		{"bytes past the end", []byte{0x08, 'a'}, func(r *Reader) { _ = r.Bytes("x") }, nil},
		{"negative bytes length", []byte{0x01, 'a'}, func(r *Reader) { _ = r.Bytes("x") }, nil},
		{"no bytes length", nil, func(r *Reader) { _ = r.Bytes("x") }, ErrShort},
		{"double of 7 bytes", make([]byte, 7), func(r *Reader) { r.Double("x") }, ErrShort},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(tc.b)
			tc.read(r)
			err := r.Done()
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestBytes: bytes round-trip into a copy of their own, and an empty one
// reads as nil, as package structcodec reads it.
func TestBytes(t *testing.T) {
	for _, v := range [][]byte{nil, {}, {0}, []byte("abc"), bytes.Repeat([]byte{0xff}, 300)} {
		b := AppendBytes([]byte{0x01}, v)
		r := NewReader(b[1:])
		got := r.Bytes("x")
		if err := r.Done(); err != nil {
			t.Fatalf("%x: %v", v, err)
		}
		if len(v) == 0 {
			if got != nil {
				t.Fatalf("%#v reads as %#v, want nil", v, got)
			}
			continue
		}
		if !bytes.Equal(got, v) {
			t.Fatalf("%x reads as %x", v, got)
		}
		b[len(b)-1]++ // the input is the caller's to reuse
		if got[len(got)-1] != v[len(v)-1] {
			t.Fatalf("%x: the bytes read share the input", v)
		}
	}
	if got := AppendBytes(nil, []byte("ab")); !bytes.Equal(got, []byte{0x04, 'a', 'b'}) {
		t.Fatalf("AppendBytes = %x", got)
	}
}

// TestDouble: doubles are their IEEE 754 bits, little-endian, and
// round-trip bit for bit.
func TestDouble(t *testing.T) {
	if got, want := AppendDouble(nil, 1), []byte{0, 0, 0, 0, 0, 0, 0xf0, 0x3f}; !bytes.Equal(got, want) {
		t.Fatalf("AppendDouble(1) = %x, want %x", got, want)
	}
	for _, v := range []float64{0, math.Copysign(0, -1), -1.5, math.MaxFloat64, math.SmallestNonzeroFloat64, math.Inf(-1), math.NaN()} {
		r := NewReader(AppendDouble(nil, v))
		got := r.Double("x")
		if err := r.Done(); err != nil {
			t.Fatalf("%v: %v", v, err)
		}
		if math.Float64bits(got) != math.Float64bits(v) {
			t.Fatalf("%v reads as %v", v, got)
		}
	}
}
