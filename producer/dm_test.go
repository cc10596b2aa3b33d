package producer

import (
	"context"
	"errors"
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

type rig struct {
	cluster *kfake.Cluster
	cl      *kgo.Client
	codec   *schemas.Codec
	dm      *DM
}

func newRig(t *testing.T) *rig {
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
	kc.Partitions = 3
	if err := kc.EnsureTopics(context.Background(), cl); err != nil {
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
	return &rig{cluster: c, cl: cl, codec: codec, dm: NewDM(cl, codec)}
}

// consume reads n records from topic, failing the test if they do not all
// arrive within a few seconds.
func (r *rig) consume(t *testing.T, topic string, n int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(r.cluster.ListenAddrs()...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []*kgo.Record
	for len(got) < n {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("%s: got %d records, want %d", topic, len(got), n)
		}
		got = append(got, fs.Records()...)
	}
	return got
}

func (r *rig) endOffsets(t *testing.T) map[string]int64 {
	t.Helper()
	offs, err := kadm.NewClient(r.cl).ListEndOffsets(context.Background(), schemas.Topics()...)
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

func TestRegisterProducesOneUserPerID(t *testing.T) {
	r := newRig(t)
	at := time.Date(2025, 1, 2, 3, 4, 5, 678_901_234, time.UTC)
	r.dm.now = func() time.Time { return at }
	if err := r.dm.Register(context.Background(), []string{"a", "b", "c"}); err != nil {
		t.Fatal(err)
	}
	want := at.Truncate(time.Millisecond)
	seen := map[string]bool{}
	for _, rec := range r.consume(t, schemas.TopicDMUsers, 3) {
		var u schemas.DMUser
		if err := r.codec.Decode(rec.Value, &u); err != nil {
			t.Fatal(err)
		}
		if string(rec.Key) != u.UserID || !u.RegisteredAt.Equal(want) || !rec.Timestamp.Equal(want) {
			t.Fatalf("record key=%q user=%+v ts=%v, want key=user id, time %v", rec.Key, u, rec.Timestamp, want)
		}
		seen[u.UserID] = true
	}
	if len(seen) != 3 {
		t.Fatalf("users %v, want a b c", seen)
	}
	if offs := r.endOffsets(t); offs[schemas.TopicDMChecks]+offs[schemas.TopicDMChecksHigh] != 0 {
		t.Fatalf("registration produced marks: %v", offs)
	}
}

func TestMarkPicksTopicByPriority(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	if err := r.dm.Mark(ctx, []string{"n1", "n2"}, schemas.PriorityNormal); err != nil {
		t.Fatal(err)
	}
	if err := r.dm.Mark(ctx, []string{"h1"}, schemas.PriorityHigh); err != nil {
		t.Fatal(err)
	}
	for topic, want := range map[string]schemas.Priority{schemas.TopicDMChecks: schemas.PriorityNormal, schemas.TopicDMChecksHigh: schemas.PriorityHigh} {
		n := 2
		if want == schemas.PriorityHigh {
			n = 1
		}
		for _, rec := range r.consume(t, topic, n) {
			var m schemas.DMMark
			if err := r.codec.Decode(rec.Value, &m); err != nil {
				t.Fatal(err)
			}
			if m.Priority != want || string(rec.Key) != m.UserID || m.MarkedAt.IsZero() {
				t.Fatalf("%s: %+v key %q", topic, m, rec.Key)
			}
		}
	}
	if offs := r.endOffsets(t); offs[schemas.TopicDMUsers] != 0 {
		t.Fatalf("a mark also registered: %v", offs)
	}
}

func TestMarkRejectsUnknownPriority(t *testing.T) {
	r := newRig(t)
	if err := r.dm.Mark(context.Background(), []string{"a"}, "urgent"); !errors.Is(err, ErrBadPriority) {
		t.Fatalf("err = %v, want ErrBadPriority", err)
	}
	for topic, n := range r.endOffsets(t) {
		if n != 0 {
			t.Fatalf("%s has %d records", topic, n)
		}
	}
}

func TestProduceFailureIsReported(t *testing.T) {
	r := newRig(t)
	r.cluster.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := r.dm.Register(ctx, []string{"a"}); err == nil {
		t.Fatal("register succeeded with the broker gone")
	}
}
