package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/rationhq/ration/internal/await"
	"github.com/rationhq/ration/internal/kafkaconn"
	"github.com/rationhq/ration/pipeline"
	"github.com/rationhq/ration/pipelines/dm"
	"github.com/rationhq/ration/schemas"
)

// dmGroup is the consumer group of the DM check stage (`ration worker dm --stage check`).
const dmGroup = "ration.dm.check"

// cluster is one test's broker and schema registry, both in this process
// and both on loopback, plus the clients the test drives them with.
type cluster struct {
	board      *await.Board
	addr       string
	registry   string
	partitions int32
	codec      *schemas.Codec
	cl         *kgo.Client // produces marks (default partitioner)
	manual     *kgo.Client // produces sentinels to chosen partitions
	adm        *kadm.Client
	broker     *brokerLog
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	c := &cluster{board: await.NewBoard(), partitions: kafkaconn.Defaults().Partitions}
	c.broker = &brokerLog{board: c.board}
	kf, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.GroupMinSessionTimeout(time.Second),
		kfake.WithLogger(c.broker),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kf.Close)
	c.addr = kf.ListenAddrs()[0]
	if !strings.HasPrefix(c.addr, "127.0.0.1:") {
		t.Fatalf("kfake listens on %s, want loopback", c.addr)
	}

	reg := srfake.New()
	t.Cleanup(reg.Close)
	c.registry = reg.URL()
	rcl, err := sr.NewClient(sr.URLs(c.registry))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	topics, records := pipeline.Schemas([]pipeline.Descriptor{dm.New()})
	if c.codec, err = schemas.Register(ctx, rcl, topics, records...); err != nil {
		t.Fatal(err)
	}

	c.cl = c.client(t, kgo.ProducerLinger(5*time.Millisecond), kgo.ProducerBatchMaxBytes(1<<20))
	c.manual = c.client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	c.adm = kadm.NewClient(c.cl)
	kc := kafkaconn.Defaults()
	kc.Brokers = []string{c.addr}
	if err := kc.EnsureTopics(ctx, c.cl, pipeline.AllTopicSpecs([]pipeline.Descriptor{dm.New()})); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *cluster) client(t *testing.T, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(c.addr)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// mark produces one normal-priority mark for each of n users named
// prefix000000, prefix000001, ... and returns the partition (bucket) each
// user's mark landed in.
func (c *cluster) mark(t *testing.T, prefix string, n int) map[string]int32 {
	t.Helper()
	const chunk = 10_000
	where := make(map[string]int32, n)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	now := time.Now()
	for from := 0; from < n; from += chunk {
		recs := make([]*kgo.Record, 0, chunk)
		for i := from; i < min(from+chunk, n); i++ {
			id := fmt.Sprintf("%s%06d", prefix, i)
			v, err := c.codec.Encode(&dm.Mark{UserID: id, Priority: dm.PriorityNormal, MarkedAt: now})
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, &kgo.Record{Topic: dm.TopicChecks, Key: []byte(id), Value: v})
		}
		res := c.cl.ProduceSync(ctx, recs...)
		if err := res.FirstErr(); err != nil {
			t.Fatalf("produce marks: %v", err)
		}
		for _, r := range res {
			where[string(r.Record.Key)] = r.Record.Partition
		}
	}
	return where
}

// committed returns the group's committed offsets of the normal check
// topic by partition.
func (c *cluster) committed(t *testing.T) map[int32]int64 {
	t.Helper()
	offs, err := c.fetchCommitted()
	if err != nil {
		t.Fatalf("fetch offsets of %s: %v", dmGroup, err)
	}
	return offs
}

// fetchCommitted is committed, with the error returned: before the group
// has committed anything it does not exist yet.
func (c *cluster) fetchCommitted() (map[int32]int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	offs, err := c.adm.FetchOffsets(ctx, dmGroup)
	if err != nil {
		return nil, err
	}
	out := make(map[int32]int64)
	offs.Each(func(o kadm.OffsetResponse) {
		if o.Topic == dm.TopicChecks && o.Err == nil {
			out[o.Partition] = o.At
		}
	})
	return out, nil
}

// markEnds returns the end offset of each partition of the normal check
// topic.
func (c *cluster) markEnds(t *testing.T) map[int32]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ends, err := c.adm.ListEndOffsets(ctx, dm.TopicChecks)
	if err != nil {
		t.Fatalf("list end offsets: %v", err)
	}
	out := make(map[int32]int64)
	ends.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
	return out
}

// awaitGroupCaughtUp polls until the group has committed every mark: from
// then on no worker has anything left to check.
func (c *cluster) awaitGroupCaughtUp(t *testing.T, timeout time.Duration) {
	t.Helper()
	ends := c.markEnds(t)
	deadline := time.Now().Add(timeout)
	for {
		got := c.committed(t)
		behind := 0
		for p, end := range ends {
			if got[p] < end {
				behind++
			}
		}
		if behind == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("group %s has %d partitions with uncommitted marks after %v: committed %v, ends %v", dmGroup, behind, timeout, got, ends)
		}
		time.Sleep(100 * time.Millisecond) // polling the broker's offsets; nothing to await
	}
}

// sentinelHeader marks the test's own records on the result topic.
const sentinelHeader = "e2e-sentinel"

// sentinel produces a record named label to every partition of the result
// topic. A read_committed reader sees it in a partition only once every
// transaction that wrote there before it has committed or aborted.
func (c *cluster) sentinel(t *testing.T, label string) {
	t.Helper()
	recs := make([]*kgo.Record, 0, c.partitions)
	for p := range c.partitions {
		recs = append(recs, &kgo.Record{
			Topic: dm.TopicResults, Partition: p,
			Headers: []kgo.RecordHeader{{Key: sentinelHeader, Value: []byte(label)}},
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.manual.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce sentinel %s: %v", label, err)
	}
}

// brokerLog keeps the broker's warnings and errors (kfake logs aborted
// transactions at warning level).
type brokerLog struct {
	board *await.Board
	lines []string
}

var _ kfake.Logger = (*brokerLog)(nil)

// Logf implements kfake.Logger. It formats only what it keeps: kfake logs
// every request at debug level.
func (l *brokerLog) Logf(level kfake.LogLevel, format string, args ...any) {
	if level > kfake.LogLevelWarn {
		return
	}
	line := fmt.Sprintf("%s %s %s", time.Now().Format("15:04:05.000"), level, fmt.Sprintf(format, args...))
	l.board.Update(func() { l.lines = append(l.lines, line) })
}

// matching returns the kept lines that contain every one of subs.
func (l *brokerLog) matching(subs ...string) []string {
	var out []string
	l.board.Read(func() {
	lines:
		for _, line := range l.lines {
			for _, s := range subs {
				if !strings.Contains(line, s) {
					continue lines
				}
			}
			out = append(out, line)
		}
	})
	return out
}
