package apitest

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/rationhq/ration/auth"
	"github.com/rationhq/ration/internal/kafkaconn"
	"github.com/rationhq/ration/schemas"
)

// Kafka is an in-process broker with ration's topics (two partitions each,
// to keep tests light), a producing client and a codec registered with an
// in-process schema registry. Everything closes when the test ends.
type Kafka struct {
	Cluster *kfake.Cluster
	Client  *kgo.Client
	Codec   *schemas.Codec
}

// NewKafka starts a Kafka for t.
func NewKafka(t testing.TB) *Kafka {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	kc := kafkaconn.Defaults()
	kc.Partitions = 2
	if err := kc.EnsureTopics(context.Background(), cl); err != nil {
		t.Fatal(err)
	}
	if err := auth.EnsureTopic(context.Background(), cl); err != nil {
		t.Fatal(err)
	}
	reg := srfake.New()
	t.Cleanup(reg.Close)
	src, err := sr.NewClient(sr.URLs(reg.URL()))
	if err != nil {
		t.Fatal(err)
	}
	codec, err := schemas.Register(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	return &Kafka{Cluster: c, Client: cl, Codec: codec}
}

// EndOffsets returns, per ration topic, the sum of its partitions' end
// offsets: the number of records ever written to it.
func (k *Kafka) EndOffsets(t testing.TB) map[string]int64 {
	t.Helper()
	offs, err := kadm.NewClient(k.Client).ListEndOffsets(context.Background(), schemas.Topics()...)
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

// Records reads every record topic holds, as counted by EndOffsets.
func (k *Kafka) Records(t testing.TB, topic string) []*kgo.Record {
	t.Helper()
	n := k.EndOffsets(t)[topic]
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.Cluster.ListenAddrs()...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []*kgo.Record
	for int64(len(got)) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("%s: got %d of %d records", topic, len(got), n)
		}
		got = append(got, fs.Records()...)
	}
	return got
}
