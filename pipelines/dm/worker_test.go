package dm

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/internal/kafkatest"
	"github.com/rationhq/ration/processor"
	"github.com/rationhq/ration/schemas"
)

// rig is a kfake broker with ration's topics and a codec.
type rig struct{ *kafkatest.Kafka }

func newRig(t *testing.T) *rig { return &rig{kafkatest.New(t, 12)} }

func (r *rig) mark(t *testing.T, prefix string, n int, p schemas.Priority) {
	t.Helper()
	topic := schemas.TopicDMChecks
	if p == schemas.PriorityHigh {
		topic = schemas.TopicDMChecksHigh
	}
	recs := make([]*kgo.Record, 0, n)
	for i := range n {
		id := fmt.Sprintf("%s%06d", prefix, i)
		v, err := r.Codec.Encode(&schemas.DMMark{UserID: id, Priority: p, MarkedAt: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, &kgo.Record{Topic: topic, Key: []byte(id), Value: v})
	}
	if err := r.Client.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

func (r *rig) startWorker(t *testing.T, instance string, tune func(*Config)) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Stage.InstanceID = instance
	cfg.Stage.SessionTimeout = 3 * time.Second
	if tune != nil {
		tune(&cfg)
	}
	w, err := NewWorker(cfg, r.Codec, processor.Deps{Kafka: []kgo.Opt{kgo.SeedBrokers(r.Addrs()...)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker %s: %v", instance, err)
		}
	})
}

// results streams decoded results, read_committed, in arrival order.
func (r *rig) results(t *testing.T, ctx context.Context) <-chan schemas.DMResult {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(r.Addrs()...), kgo.ConsumeTopics(schemas.TopicDMResults),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan schemas.DMResult, 4096)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(out)
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			fs.EachRecord(func(rec *kgo.Record) {
				var res schemas.DMResult
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

func TestWorkerChecksEveryMarkOnce(t *testing.T) {
	r := newRig(t)
	r.mark(t, "u", 2000, schemas.PriorityNormal)
	r.startWorker(t, "w1", nil)
	r.startWorker(t, "w2", nil)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	seen := make(map[string]int)
	for res := range r.results(t, ctx) {
		seen[res.UserID]++
		if seen[res.UserID] > 1 {
			t.Fatalf("user %s has a second result", res.UserID)
		}
		if res.Status != schemas.ResultChecked || *res.OpenDM != Answer(res.UserID) {
			t.Fatalf("result %+v", res)
		}
		if len(seen) == 2000 {
			return
		}
	}
	t.Fatalf("only %d of 2000 users checked", len(seen))
}

// TestPriority: with a backlog of normal marks, high marks sent later are
// all checked before the backlog drains, and normal work keeps its share
// meanwhile (DM-5, DM-8). Times are the results' checked_at, so the test's
// own reading speed does not matter.
func TestPriorityJumpsTheQueueWithoutStarvingNormal(t *testing.T) {
	const backlog, high = 100_000, 100
	r := newRig(t)
	r.mark(t, "n", backlog, schemas.PriorityNormal)
	// A checker with some latency keeps the backlog around long enough.
	r.startWorker(t, "w1", func(c *Config) { c.SimLatency = time.Millisecond })

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	results := r.results(t, ctx)
	var all []schemas.DMResult
	for len(all) < backlog/20 {
		all = append(all, <-results)
	}
	highSent := time.Now()
	r.mark(t, "h", high, schemas.PriorityHigh)
	for len(all) < backlog+high {
		res, ok := <-results
		if !ok {
			t.Fatalf("results ended after %d of %d", len(all), backlog+high)
		}
		all = append(all, res)
	}

	var highDone, normalDone time.Time
	for _, res := range all {
		if res.Priority == schemas.PriorityHigh {
			highDone = maxTime(highDone, res.CheckedAt)
		} else {
			normalDone = maxTime(normalDone, res.CheckedAt)
		}
	}
	if !highDone.Before(normalDone) {
		t.Fatalf("high marks done at %v, not before the backlog drained at %v", highDone, normalDone)
	}
	meanwhile := 0
	for _, res := range all {
		if res.Priority == schemas.PriorityNormal && !res.CheckedAt.Before(highSent.Truncate(time.Millisecond)) && !res.CheckedAt.After(highDone) {
			meanwhile++
		}
	}
	share := float64(meanwhile) / float64(meanwhile+high)
	t.Logf("high marks checked %v after sending; %d normal checked meanwhile (share %.2f); backlog drained %v later",
		highDone.Sub(highSent), meanwhile, share, normalDone.Sub(highDone))
	if share < 0.15 {
		t.Fatalf("normal work got %.2f of throughput while high work waited, want at least 0.15", share)
	}
}

// TestPriorityShareUnderSustainedHighLoad: while both classes have a
// backlog, normal work gets about one batch in NormalShare (default 5).
func TestPriorityShareUnderSustainedHighLoad(t *testing.T) {
	const normalN, highN = 40_000, 40_000
	r := newRig(t)
	r.mark(t, "n", normalN, schemas.PriorityNormal)
	r.mark(t, "h", highN, schemas.PriorityHigh)
	r.startWorker(t, "w1", func(c *Config) { c.SimLatency = time.Millisecond })

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	results := r.results(t, ctx)
	var all []schemas.DMResult
	for len(all) < normalN+highN {
		res, ok := <-results
		if !ok {
			t.Fatalf("results ended after %d", len(all))
		}
		all = append(all, res)
	}
	var highFirst, highLast time.Time
	for _, res := range all {
		if res.Priority != schemas.PriorityHigh {
			continue
		}
		if highFirst.IsZero() || res.CheckedAt.Before(highFirst) {
			highFirst = res.CheckedAt
		}
		highLast = maxTime(highLast, res.CheckedAt)
	}
	normal := 0
	for _, res := range all {
		if res.Priority == schemas.PriorityNormal && !res.CheckedAt.Before(highFirst) && !res.CheckedAt.After(highLast) {
			normal++
		}
	}
	share := float64(normal) / float64(normal+highN)
	t.Logf("while %d high marks were checked (%v), %d normal were: share %.2f", highN, highLast.Sub(highFirst), normal, share)
	if share < 0.15 || share > 0.5 {
		t.Fatalf("normal share %.2f while both classes waited, want about 0.2 (at least 0.15)", share)
	}
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// TestGarbageMarkIsDeadLettered: a record on an input topic that is not a
// mark lands in ration.dm.dead with its bytes, and its bucket moves on.
func TestGarbageMarkIsDeadLettered(t *testing.T) {
	r := newRig(t)
	garbage := &kgo.Record{Topic: schemas.TopicDMChecks, Key: []byte("u000000"), Value: []byte("not avro")}
	if err := r.Client.ProduceSync(context.Background(), garbage).FirstErr(); err != nil {
		t.Fatal(err)
	}
	r.mark(t, "u", 1, schemas.PriorityNormal) // same key, so same partition, after the garbage
	r.startWorker(t, "w1", nil)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if res := <-r.results(t, ctx); res.UserID != "u000000" || res.Status != schemas.ResultChecked {
		t.Fatalf("result %+v: the bucket did not move on past the garbage", res)
	}
	dead := r.Read(t, schemas.TopicDMDead, 1)
	if string(dead[0].Value) != "not avro" || string(dead[0].Key) != "u000000" {
		t.Fatalf("dead letters %v, want the garbage record", dead)
	}
}
