package dm

import (
	"context"
	"testing"
)

// BenchmarkProcess measures the check stage's own work per mark (decode,
// check with the no-op simulator, encode the result).
func BenchmarkProcess(b *testing.B) {
	p, codec := newCheck(b, Simulator{})
	rec := markRecord(b, codec, "user-000123", PriorityNormal)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Process(ctx, rec, nil); err != nil {
			b.Fatal(err)
		}
	}
}
