package broker

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
)

// testConfig is an in-memory broker on free loopback ports.
func testConfig() Config {
	return Config{KafkaAddr: "127.0.0.1:0", RegistryAddr: "127.0.0.1:0"}
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// start starts a broker that the test closes at its end (a second Close
// is harmless, so tests may close it earlier to restart).
func start(t *testing.T, cfg Config) *Broker {
	t.Helper()
	b, err := Start(testCtx(t), cfg)
	if err != nil {
		t.Fatalf("start broker: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("close broker: %v", err)
		}
	})
	return b
}

func newClient(t *testing.T, b *Broker, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append(b.KafkaConn().Opts(nil), opts...)...)
	if err != nil {
		t.Fatalf("kafka client: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func newRegistryClient(t *testing.T, b *Broker) *sr.Client {
	t.Helper()
	cl, err := sr.NewClient(sr.URLs(b.RegistryURL()))
	if err != nil {
		t.Fatalf("registry client: %v", err)
	}
	return cl
}

func createTopic(t *testing.T, cl *kgo.Client, topic string, partitions int32) {
	t.Helper()
	resp, err := kadm.NewClient(cl).CreateTopic(testCtx(t), partitions, -1, nil, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		t.Fatalf("create topic %s: %v", topic, err)
	}
}

func produce(t *testing.T, cl *kgo.Client, recs ...*kgo.Record) {
	t.Helper()
	if err := cl.ProduceSync(testCtx(t), recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// consumeAll reads topic from its start until n records arrived.
func consumeAll(t *testing.T, b *Broker, topic string, n int, opts ...kgo.Opt) []*kgo.Record {
	t.Helper()
	cl := newClient(t, b, append([]kgo.Opt{kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}, opts...)...)
	ctx := testCtx(t)
	var recs []*kgo.Record
	for len(recs) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consume %s: got %d of %d records: %v", topic, len(recs), n, ctx.Err())
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("consume %s/%d: %v", topic, p, err) })
		recs = append(recs, fs.Records()...)
	}
	return recs
}

const (
	schemaA = `{"type":"record","name":"A","fields":[{"name":"a","type":"string"}]}`
	schemaB = `{"type":"record","name":"B","fields":[{"name":"b","type":"long"}]}`
	schemaC = `{"type":"record","name":"C","fields":[{"name":"c","type":"boolean"}]}`
)

func register(t *testing.T, cl *sr.Client, subject, schema string) sr.SubjectSchema {
	t.Helper()
	ss, err := cl.CreateSchema(testCtx(t), subject, sr.Schema{Schema: schema, Type: sr.TypeAvro})
	if err != nil {
		t.Fatalf("register %s: %v", subject, err)
	}
	return ss
}
