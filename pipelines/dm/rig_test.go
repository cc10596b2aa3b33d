package dm

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/internal/kafkatest"
	"github.com/rationhq/ration/pipeline/pipelinetest"
	"github.com/rationhq/ration/schemas"
)

var discard = slog.New(slog.DiscardHandler)

// testCodec is a codec of the DM pipeline's schemas.
func testCodec(t testing.TB) *schemas.Codec { return kafkatest.Codec(t, pipelinetest.Setup(New())) }

// rig is a kfake broker with the DM pipeline's topics and a codec.
type rig struct{ *kafkatest.Kafka }

func newRig(t *testing.T, partitions int32) *rig {
	return &rig{pipelinetest.Kafka(t, partitions, New())}
}

// mark produces n marks of priority p for users prefix000000, ...
func (r *rig) mark(t *testing.T, prefix string, n int, p Priority) {
	t.Helper()
	topic := TopicChecks
	if p == PriorityHigh {
		topic = TopicChecksHigh
	}
	recs := make([]*kgo.Record, 0, n)
	for i := range n {
		id := fmt.Sprintf("%s%06d", prefix, i)
		v, err := r.Codec.Encode(&Mark{UserID: id, Priority: p, MarkedAt: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, &kgo.Record{Topic: topic, Key: []byte(id), Value: v})
	}
	if err := r.Client.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// startWorker runs one worker of stages (all, if none) with the options
// tune sets, until the test ends.
func (r *rig) startWorker(t *testing.T, instance string, tune func(*Options), stages ...string) {
	t.Helper()
	opts := DefaultOptions()
	if tune != nil {
		tune(opts)
	}
	pipelinetest.StartWorker(t, NewWith(opts), stages, r.Addrs(), r.Codec, instance)
}

// results streams decoded results, read_committed, in arrival order.
func (r *rig) results(t *testing.T, ctx context.Context) <-chan Result {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(r.Addrs()...), kgo.ConsumeTopics(TopicResults),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan Result, 4096)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(out)
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			fs.EachRecord(func(rec *kgo.Record) {
				var res Result
				if err := r.Codec.Decode(rec.Value, &res); err != nil {
					t.Errorf("decode result: %v", err)
					return
				}
				select {
				case out <- res:
				case <-ctx.Done():
				}
			})
		}
	}()
	t.Cleanup(func() { <-done; cl.Close() })
	return out
}
