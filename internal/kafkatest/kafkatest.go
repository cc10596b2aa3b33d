// Package kafkatest gives tests an in-process Kafka: a kfake broker with
// the topics a test asks for (pipeline/pipelinetest asks for a pipeline's),
// a producing client and a codec registered with an in-process schema
// registry. Everything closes when the test ends.
package kafkatest

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/rationhq/ration/internal/kafkaconn"
	"github.com/rationhq/ration/schemas"
)

// Setup is what a test's Kafka holds: the topics to create (shared ones
// are added), and the record types of their values.
type Setup struct {
	Topics  []kafkaconn.TopicSpec
	Schemas []schemas.TopicSchema
	Records []schemas.Record
}

// Kafka is an in-process broker with the topics of a Setup.
type Kafka struct {
	Cluster *kfake.Cluster
	Client  *kgo.Client
	Codec   *schemas.Codec
	// Topics are every topic created, shared ones included.
	Topics []string
}

// New starts a Kafka for t whose topics (those of s and the shared ones)
// have partitions partitions unless s says otherwise, with a one-second
// minimum group session so tests can use short sessions.
func New(t testing.TB, partitions int32, s Setup) *Kafka {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.GroupMinSessionTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	kc := kafkaconn.Defaults()
	kc.Partitions = partitions
	specs := append(kafkaconn.SharedTopics(), s.Topics...)
	if err := kc.EnsureTopics(context.Background(), cl, specs); err != nil {
		t.Fatal(err)
	}
	k := &Kafka{Cluster: c, Client: cl, Codec: Codec(t, s)}
	for _, s := range specs {
		k.Topics = append(k.Topics, s.Name)
	}
	return k
}

// Codec returns a codec of the schemas of s (and the shared ones)
// registered with an in-process schema registry.
func Codec(t testing.TB, s Setup) *schemas.Codec {
	t.Helper()
	reg := srfake.New()
	t.Cleanup(reg.Close)
	src, err := sr.NewClient(sr.URLs(reg.URL()))
	if err != nil {
		t.Fatal(err)
	}
	codec, err := schemas.Register(context.Background(), src, append(schemas.Shared(), s.Schemas...),
		append([]schemas.Record{new(schemas.KeyBlock)}, s.Records...)...)
	if err != nil {
		t.Fatal(err)
	}
	return codec
}

// Addrs are the broker's addresses, for kgo.SeedBrokers.
func (k *Kafka) Addrs() []string { return k.Cluster.ListenAddrs() }

// EndOffsets returns, per topic created, the sum of its partitions' end
// offsets: the number of records ever written to it.
func (k *Kafka) EndOffsets(t testing.TB) map[string]int64 {
	t.Helper()
	offs, err := kadm.NewClient(k.Client).ListEndOffsets(context.Background(), k.Topics...)
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string]int64{}
	offs.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			t.Fatalf("%s/%d: %v", o.Topic, o.Partition, o.Err)
		}
		sums[o.Topic] += o.Offset
	})
	return sums
}

// Records reads every record a topic written without transactions holds,
// as counted by EndOffsets (transaction markers take offsets too: use Read
// for topics written in transactions).
func (k *Kafka) Records(t testing.TB, topic string) []*kgo.Record {
	t.Helper()
	return k.Read(t, topic, int(k.EndOffsets(t)[topic]))
}

// Read reads n committed records from topic, failing t if they do not all
// arrive within 10 seconds.
func (k *Kafka) Read(t testing.TB, topic string, n int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.Cluster.ListenAddrs()...), kgo.ConsumeTopics(topic),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []*kgo.Record
	for len(got) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("%s: got %d of %d records", topic, len(got), n)
		}
		got = append(got, fs.Records()...)
	}
	return got
}

// Follower is what follows a topic: an auth.Follower, a kafkatable one.
type Follower interface {
	Run(ctx context.Context) error
	Ready() <-chan struct{}
}

// RunFollower runs f until t ends and returns once f has caught up; a
// follower that fails, or takes over 10 s to catch up, fails t.
func RunFollower(t testing.TB, f Follower) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	select {
	case <-f.Ready():
	case err := <-done:
		t.Fatalf("follower stopped before it caught up: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("follower did not catch up within 10 s")
	}
}
