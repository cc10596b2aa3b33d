package processor

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestBatchLimitHalvesOnOverrunsAndDoublesBackOnQuickFullBatches(t *testing.T) {
	const timeout = time.Second
	l := newBatchLimit(1000)
	steps := []struct {
		what  string
		do    func() bool
		moved bool
		want  int
	}{
		{"a full batch overruns", func() bool { return l.overran(1000) }, true, 500},
		{"and again", func() bool { return l.overran(500) }, true, 250},
		{"a short batch overruns: half of it", func() bool { return l.overran(100) }, true, 50},
		{"a full batch that took most of the timeout", func() bool { return l.committed(50, 600*time.Millisecond, timeout) }, false, 50},
		{"a short quick batch says nothing", func() bool { return l.committed(20, time.Millisecond, timeout) }, false, 50},
		{"a full quick batch", func() bool { return l.committed(50, 100*time.Millisecond, timeout) }, true, 100},
		{"up to the most, not past it", func() bool {
			for range 10 {
				l.committed(l.n, time.Millisecond, timeout)
			}
			return l.n == l.most
		}, true, 1000},
		{"full size: nothing to raise", func() bool { return l.committed(1000, time.Millisecond, timeout) }, false, 1000},
	}
	for _, s := range steps {
		if moved := s.do(); moved != s.moved || l.n != s.want {
			t.Fatalf("%s: moved %v, limit %d; want %v, %d", s.what, moved, l.n, s.moved, s.want)
		}
	}
	for range 20 {
		l.overran(l.n)
	}
	if l.n != 1 || l.overran(1) {
		t.Fatalf("limit %d after 20 overruns, want 1, and no lower", l.n)
	}
}

// TestSlowBatchesShrinkUntilTheyCommit: a downstream so slow that a full
// batch outruns the transaction timeout (15 ms a record, one key, so one
// at a time: 200 records take 3 s of a 1.8 s timeout). Aborted, such a
// batch came back as large and aborted forever; now the stage halves its
// batches until they commit, and every record is copied once, in order.
func TestSlowBatchesShrinkUntilTheyCommit(t *testing.T) {
	addrs := newCluster(t, "in", "out")
	const records = 200
	produceN(t, addrs, "in", 1, records)
	slow := HandlerFunc(func(ctx context.Context, r *kgo.Record, _ State) ([]*kgo.Record, error) {
		select {
		case <-time.After(15 * time.Millisecond): // the downstream's answer
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return []*kgo.Record{{Topic: "out", Key: r.Key, Value: r.Value}}, nil
	})
	cfg := testConfig("a", "in")
	cfg.MaxPollRecords = records
	m := NewMetrics(prometheus.NewRegistry())
	s, err := New(cfg, slow, Deps{Kafka: []kgo.Opt{kgo.SeedBrokers(addrs...)}, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	s.retryPause = 10 * time.Millisecond
	runStage(t, s)

	checkExactlyOnceInOrder(t, readAll(t, addrs, "out", records), 1, records)
	if limit := testutil.ToFloat64(m.limit.WithLabelValues("t", "copy")); limit >= records {
		t.Fatalf("batch limit %v: the batches never shrank", limit)
	}
}
