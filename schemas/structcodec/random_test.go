package structcodec

import (
	"math/rand/v2"
	"time"

	"github.com/linkedin/goavro/v2"
)

// Priority is a named string type, as record types have.
type Priority string

const (
	PriorityNormal Priority = "normal"
	PriorityHigh   Priority = "high"
)

// randString returns up to 80 characters, some of them outside ASCII.
func randString(r *rand.Rand) string {
	runes := []rune("abcdefghijklmnopqrstuvwxyzABC0123456789_.:-é漢")
	b := make([]rune, r.IntN(80))
	for i := range b {
		b[i] = runes[r.IntN(len(runes))]
	}
	return string(b)
}

// randOptTime returns the zero time a third of the time, else a time to
// the millisecond.
func randOptTime(r *rand.Rand) time.Time {
	if r.IntN(3) == 0 {
		return time.Time{}
	}
	return time.UnixMilli(r.Int64N(4_000_000_000_000) - 1_000_000_000_000).UTC()
}

// randInts returns nil or up to 10 ints over the whole 32-bit range.
func randInts(r *rand.Rand) []int {
	if r.IntN(3) == 0 {
		return nil
	}
	v := make([]int, 1+r.IntN(10))
	for i := range v {
		v[i] = int(int32(r.Uint32()))
	}
	return v
}

func pick[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }

// nativeInts is ns as goavro's native form of an array of int.
func nativeInts(ns []int) []any {
	out := make([]any, len(ns))
	for i, n := range ns {
		out[i] = int32(n)
	}
	return out
}

// nativeOptMillis gives goavro the zero time as 0 millis, as the codec
// writes it.
func nativeOptMillis(t time.Time) time.Time {
	if t.IsZero() {
		return time.UnixMilli(0)
	}
	return t
}

// goavro allocates a block's whole count before reading its items; the
// fuzz target hands goavro arbitrary bytes too (to compare), so in tests
// its limit stays below what would exhaust memory. The codec itself does
// not rely on it (Codec.Read checks first).
func init() { goavro.MaxBlockCount = 1 << 20 }
