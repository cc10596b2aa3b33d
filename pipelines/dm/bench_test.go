package dm

import (
	"context"
	"testing"

	"github.com/rationhq/ration/schemas"
)

// BenchmarkProcess measures the pipeline's own work per mark (decode,
// check with the no-op simulator, encode result and event).
func BenchmarkProcess(b *testing.B) {
	codec := testCodecTB(b)
	p := &Pipeline{codec: codec, checker: Simulator{}, worker: "w", log: discard, now: timeNow}
	rec := markRecordTB(b, codec, "user-000123", schemas.PriorityNormal)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Process(ctx, rec); err != nil {
			b.Fatal(err)
		}
	}
}
