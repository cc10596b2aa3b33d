package conformance

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/rationhq/ration/internal/await"
	"github.com/rationhq/ration/internal/kafkaconn"
	"github.com/rationhq/ration/pipeline"
	"github.com/rationhq/ration/schemas"
)

// sessionTimeout of every worker: short, so a dead worker's buckets move
// in seconds.
const sessionTimeout = 3 * time.Second

// restartSessionTimeout is the session of the workers of a check that
// restarts a killed worker and expects its buckets back: long enough for
// a loaded machine to start the process again. (A race-built worker took
// over 4 s to start beside the rest of make test, by when its buckets
// had gone to the other worker.)
const restartSessionTimeout = 15 * time.Second

// cluster is one check's broker and schema registry, both in this
// process on loopback, with the subject's topics; the ledger of its final
// outputs; and the board that every stream of the check reports to.
type cluster struct {
	s        Subject
	d        pipeline.Descriptor // as the suite runs it: for its names
	board    *await.Board
	addrs    []string
	registry string
	codec    *schemas.Codec
	cl       *kgo.Client
	led      *ledger // guarded by board
	// maxPoll is the workers' MaxPollRecords (0: the runtime's default).
	maxPoll int
	// session is the workers' session timeout.
	session time.Duration
}

// checkMaxPoll is the MaxPollRecords of the suite's workers: batches
// small enough that a check's run spans many transactions, so a kill or
// a rebalance lands in one.
const checkMaxPoll = 100

func newCluster(t *testing.T, s Subject) *cluster {
	t.Helper()
	c := &cluster{s: s, d: s.descriptor(nil), board: await.NewBoard(), led: newLedger(), maxPoll: checkMaxPoll, session: sessionTimeout}
	kf, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.GroupMinSessionTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kf.Close)
	c.addrs = kf.ListenAddrs()
	reg := srfake.New()
	t.Cleanup(reg.Close)
	c.registry = reg.URL()

	c.cl, err = kgo.NewClient(kgo.SeedBrokers(c.addrs...), kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.cl.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	kc := kafkaconn.Defaults()
	kc.Partitions = s.Partitions
	if err := kc.EnsureTopics(ctx, c.cl, c.d.TopicSpecs()); err != nil {
		t.Fatal(err)
	}
	if c.codec, err = register(ctx, c.registry, c.d); err != nil {
		t.Fatal(err)
	}
	c.followOutputs(t)
	return c
}

// spec is the workerSpec of a worker of this cluster.
func (c *cluster) spec(id string, f faultSpec) workerSpec {
	return workerSpec{Subject: c.s.Name, Kafka: c.addrs, Registry: c.registry, Instance: id,
		SessionTimeout: c.session, MaxPollRecords: c.maxPoll, Faults: f}
}

// follow reads topics read_committed from their start until the test
// ends, handing each record to fn under the board's lock.
func (c *cluster) follow(t *testing.T, topics []string, fn func(*kgo.Record)) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.addrs...), kgo.ConsumeTopics(topics...),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			fs := cl.PollFetches(ctx)
			if ctx.Err() != nil || fs.IsClientClosed() {
				return
			}
			c.board.Update(func() { fs.EachRecord(fn) })
		}
	}()
	t.Cleanup(func() { cancel(); <-done; cl.Close() })
}

// followOutputs feeds the final topic into the ledger.
func (c *cluster) followOutputs(t *testing.T) {
	c.follow(t, []string{c.s.Output}, func(r *kgo.Record) {
		key, seq, err := c.s.Read(c.codec, r)
		if err != nil {
			c.led.problem("%s/%d@%d: %v", r.Topic, r.Partition, r.Offset, err)
			return
		}
		c.led.add(key, seq, r.Partition)
	})
}

// outputs is the number of final outputs read so far, duplicates not
// counted: how far the run has come.
func (c *cluster) outputs() (n int) {
	c.board.Read(func() { n = c.led.fresh })
	return n
}

// runs numbers the item sets of this process, so that every check's
// keys are new.
var runs atomic.Int64

// items are what a check feeds: per key, how many items (seqs 0..n-1),
// and one sentinel key per partition.
type items struct {
	prefix    string
	fed       map[string]int
	keys      []string // the ordinary keys, in order
	sentinels []string // by partition
	parked    map[string]bool
	rounds    int // sentinel rounds fed
}

// newItems returns keys new keys named after the check, and the
// sentinel keys, with no item fed yet.
func (c *cluster) newItems(check string, keys int) *items {
	prefix := fmt.Sprintf("%s%d", check, runs.Add(1))
	it := &items{prefix: prefix, fed: make(map[string]int), parked: make(map[string]bool)}
	for i := range keys {
		it.keys = append(it.keys, fmt.Sprintf("%s-%03d", prefix, i))
	}
	it.sentinels = sentinelKeys(prefix, c.s.Output, c.s.Partitions)
	c.board.Read(func() {
		for p, k := range it.sentinels {
			c.led.pin(k, int32(p))
		}
	})
	return it
}

// sentinelKeys returns, for each of partitions partitions, a key that
// Kafka's default partitioner puts in it, in every topic with that many.
func sentinelKeys(prefix, topic string, partitions int32) []string {
	part := kgo.StickyKeyPartitioner(nil).ForTopic(topic)
	keys := make([]string, partitions)
	left := int(partitions)
	for i := 0; left > 0; i++ {
		k := fmt.Sprintf("%s-sentinel-%d", prefix, i)
		if p := part.Partition(&kgo.Record{Key: []byte(k)}, int(partitions)); keys[p] == "" {
			keys[p] = k
			left--
		}
	}
	return keys
}

// want is, per key, how many of its items must come out: all fed, none
// of a parked key.
func (it *items) want() map[string]int {
	w := make(map[string]int, len(it.fed))
	for k, n := range it.fed {
		if !it.parked[k] {
			w[k] = n
		}
	}
	return w
}

func total(want map[string]int) int {
	n := 0
	for _, v := range want {
		n += v
	}
	return n
}

// feed produces the next n items of each of keys, key after key for each
// seq, so that keys interleave in every partition.
func (c *cluster) feed(t *testing.T, it *items, keys []string, n int) {
	t.Helper()
	const chunk = 10_000
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	recs := make([]*kgo.Record, 0, chunk)
	flush := func() {
		if err := c.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatalf("feed items: %v", err)
		}
		recs = recs[:0]
	}
	for i := range n {
		for _, k := range keys {
			r, err := c.s.Input(c.codec, k, it.fed[k]+i)
			if err != nil {
				t.Fatalf("input %s/%d: %v", k, it.fed[k]+i, err)
			}
			if r.Key == nil {
				r.Key = []byte(k)
			}
			if recs = append(recs, r); len(recs) == chunk {
				flush()
			}
		}
	}
	if len(recs) > 0 {
		flush()
	}
	for _, k := range keys {
		it.fed[k] += n
	}
}

// outputsTimeout bounds the wait for a check's outputs.
const outputsTimeout = 60 * time.Second

// awaitOutputs waits until the final topic has held n outputs, and
// reports whether they came.
func (c *cluster) awaitOutputs(t *testing.T, n int, timeout time.Duration) bool {
	t.Helper()
	if !c.board.Await(timeout, func() bool { return c.outputs() >= n }) {
		t.Errorf("%d of %d outputs after %v", c.outputs(), n, timeout)
		return false
	}
	return true
}

// finish waits for the outputs of every item fed, feeds a round of
// sentinels and reads until each has come out (so no late duplicate
// goes unseen), then reports every difference between what came out and
// what was fed. When outputs or sentinels never come, t fails and the
// differences say which.
func (c *cluster) finish(t *testing.T, it *items) {
	t.Helper()
	start := time.Now()
	c.awaitOutputs(t, total(it.want()), outputsTimeout)
	c.drain(t, it)
	var problems []string
	c.board.Read(func() { problems = c.led.verdict(it.want()) })
	for _, p := range problems {
		t.Error(p)
	}
	if len(problems) == 0 && !t.Failed() {
		t.Logf("%d items came out exactly once and in key order (%v after the check began to wait)", total(it.want()), time.Since(start).Round(time.Millisecond))
	}
}

// drain feeds one sentinel per partition and waits until each came out.
func (c *cluster) drain(t *testing.T, it *items) {
	t.Helper()
	it.rounds++
	c.feed(t, it, it.sentinels, 1)
	round := it.rounds
	missing := func() (ps []int) {
		c.board.Read(func() {
			for p, k := range it.sentinels {
				if !c.led.reached(k, round) {
					ps = append(ps, p)
				}
			}
		})
		return ps
	}
	if !c.board.Await(outputsTimeout, func() bool { return len(missing()) == 0 }) {
		t.Errorf("sentinel round %d: the sentinels of partitions %v did not come out within %v; a late duplicate there may go unseen",
			round, missing(), outputsTimeout)
	}
}

// ownsEveryStage reports whether the log book's worker owns a bucket in
// every stage.
func (c *cluster) ownsEveryStage(b *logBook) bool {
	own := b.owned(0)
	for _, s := range c.d.Stages {
		if len(own[s.Name]) == 0 {
			return false
		}
	}
	return true
}

// ownsAll reports whether the log book's worker owns every bucket of
// every stage: partition p of each of its inputs, for every p.
func (c *cluster) ownsAll(b *logBook) bool {
	own := b.owned(0)
	for _, s := range c.d.Stages {
		if len(own[s.Name]) != len(s.Inputs)*int(c.s.Partitions) {
			return false
		}
	}
	return true
}
