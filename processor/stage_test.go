package processor

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/internal/kafkatest"
	"github.com/rationhq/ration/schemas"
)

// The test stage's names, as a pipeline descriptor derives them for stage
// "copy" of pipeline "t".
const (
	testEvents    = "ration.t.events"
	testChangelog = "ration.t.copy.changelog"
	testParked    = "ration.t.copy.parked"
)

func testDelayTopic(tier int) string { return "ration.t.copy.delay." + strconv.Itoa(tier) }

// runtimeTopics are the test stage's runtime topics with up to three tiers.
var runtimeTopics = []string{testEvents, testChangelog, testParked, testDelayTopic(1), testDelayTopic(2), testDelayTopic(3)}

// testCodec encodes the runtime's records and the test stage's events.
func testCodec(t testing.TB) *schemas.Codec {
	return kafkatest.Codec(t, kafkatest.Setup{Schemas: []schemas.TopicSchema{{Topic: testEvents, Value: new(schemas.Event)}}})
}

// newCluster starts a broker with topics and the test stage's runtime
// topics, six partitions each.
func newCluster(t *testing.T, topics ...string) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.GroupMinSessionTimeout(time.Second), kfake.SeedTopics(6, append(topics, runtimeTopics...)...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

func produceN(t *testing.T, addrs []string, topic string, keys, perKey int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var rs []*kgo.Record
	for seq := range perKey {
		for k := range keys {
			rs = append(rs, &kgo.Record{Topic: topic, Key: []byte("k" + strconv.Itoa(k)), Value: []byte(strconv.Itoa(seq))})
		}
	}
	if err := cl.ProduceSync(context.Background(), rs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// copyHandler copies each record to out, keeping key and value.
func copyHandler(out string) Handler {
	return HandlerFunc(func(_ context.Context, r *kgo.Record, _ State) ([]*kgo.Record, error) {
		return []*kgo.Record{{Topic: out, Key: r.Key, Value: r.Value}}, nil
	})
}

// readAll consumes topic read_committed until want records arrived.
func readAll(t *testing.T, addrs []string, topic string, want int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ConsumeTopics(topic),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var got []*kgo.Record
	for len(got) < want {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("read %d of %d records from %s: %v", len(got), want, topic, err)
		}
		got = append(got, fs.Records()...)
	}
	return got
}

func startStage(t *testing.T, addrs []string, cfg Config, h Handler) (stop func()) {
	t.Helper()
	return startStageWith(t, cfg, h, Deps{Kafka: []kgo.Opt{kgo.SeedBrokers(addrs...)}})
}

// startStageWith runs a stage until the test ends or stop is called.
func startStageWith(t *testing.T, cfg Config, h Handler, deps Deps) (stop func()) {
	t.Helper()
	s, err := New(cfg, h, deps)
	if err != nil {
		t.Fatal(err)
	}
	return runStage(t, s)
}

// runStage runs s until stop, which the test's end calls too; an error of
// its Run fails the test.
func runStage(t *testing.T, s *Stage) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("stage %s: %v", s.cfg.InstanceID, err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// testConfig is a worker of the test stage, without retries or events.
func testConfig(instance string, topics ...string) Config {
	t := DefaultTuning()
	t.InstanceID = instance
	t.SessionTimeout = 3 * time.Second
	t.MaxPollRecords = 200
	return Config{Tuning: t, Pipeline: "t", Name: "copy", Group: "ration.t.copy", TransactionalIDPrefix: "ration.t.copy.", Topics: topics}
}

// countPerKey checks that every key has exactly perKey outputs, in order.
func checkExactlyOnceInOrder(t *testing.T, recs []*kgo.Record, keys, perKey int) {
	t.Helper()
	next := make(map[string]int)
	for _, r := range recs {
		seq, _ := strconv.Atoi(string(r.Value))
		k := string(r.Key)
		if seq != next[k] {
			t.Fatalf("key %s: got value %d, want %d (duplicate or out of order)", k, seq, next[k])
		}
		next[k]++
	}
	if len(next) != keys {
		t.Fatalf("%d keys in output, want %d", len(next), keys)
	}
	for k, n := range next {
		if n != perKey {
			t.Fatalf("key %s: %d outputs, want %d", k, n, perKey)
		}
	}
}

func TestStageCopiesExactlyOnceAcrossRebalances(t *testing.T) {
	addrs := newCluster(t, "in", "out")
	const keys, perKey = 50, 40
	produceN(t, addrs, "in", keys, perKey)

	stopA := startStage(t, addrs, testConfig("a", "in"), copyHandler("out"))
	startStage(t, addrs, testConfig("b", "in"), copyHandler("out"))
	// A graceful stop mid-run moves a's buckets to b at once.
	readAll(t, addrs, "out", keys*perKey/4)
	stopA()

	got := readAll(t, addrs, "out", keys*perKey)
	checkExactlyOnceInOrder(t, got, keys, perKey)
}

func TestStagePermanentErrorSkipsRecord(t *testing.T) {
	addrs := newCluster(t, "in", "out")
	produceN(t, addrs, "in", 10, 3)
	h := HandlerFunc(func(_ context.Context, r *kgo.Record, _ State) ([]*kgo.Record, error) {
		if string(r.Key) == "k3" {
			return nil, Permanent(errors.New("bad data"))
		}
		return []*kgo.Record{{Topic: "out", Key: r.Key, Value: r.Value}}, nil
	})
	startStage(t, addrs, testConfig("a", "in"), h)
	got := readAll(t, addrs, "out", 27)
	for _, r := range got {
		if string(r.Key) == "k3" {
			t.Fatal("a record that failed permanently produced output")
		}
	}
}

func TestStageRetriesTransientErrors(t *testing.T) {
	addrs := newCluster(t, "in", "out")
	produceN(t, addrs, "in", 10, 3)
	var mu sync.Mutex
	failures := 2
	h := HandlerFunc(func(_ context.Context, r *kgo.Record, _ State) ([]*kgo.Record, error) {
		mu.Lock()
		defer mu.Unlock()
		if failures > 0 {
			failures--
			return nil, errors.New("checker unavailable")
		}
		return []*kgo.Record{{Topic: "out", Key: r.Key, Value: r.Value}}, nil
	})
	cfg := testConfig("a", "in")
	s, err := New(cfg, h, Deps{Kafka: []kgo.Opt{kgo.SeedBrokers(addrs...)}})
	if err != nil {
		t.Fatal(err)
	}
	s.retryPause = 10 * time.Millisecond
	stop := runStage(t, s)
	got := readAll(t, addrs, "out", 30)
	stop()
	checkExactlyOnceInOrder(t, got, 10, 3)
}

func TestStageGracefulStopLeavesGroup(t *testing.T) {
	addrs := newCluster(t, "in", "out")
	produceN(t, addrs, "in", 5, 1)
	stop := startStage(t, addrs, testConfig("a", "in"), copyHandler("out"))
	readAll(t, addrs, "out", 5)
	stop()

	adm, err := kadm.NewOptClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	groups, err := adm.DescribeGroups(context.Background(), "ration.t.copy")
	if err != nil {
		t.Fatal(err)
	}
	if g := groups["ration.t.copy"]; len(g.Members) != 0 {
		t.Fatalf("after a graceful stop the group still has members: %+v", g.Members)
	}
}

func TestConfigValidate(t *testing.T) {
	for name, mutate := range map[string]func(*Config){
		"no topics":                 func(c *Config) { c.Topics = nil },
		"no instance":               func(c *Config) { c.InstanceID = "" },
		"txn timeout above session": func(c *Config) { c.TransactionTimeout = c.SessionTimeout },
		"zero concurrency":          func(c *Config) { c.Concurrency = 0 },
		"share below two":           func(c *Config) { c.NormalShare = 1 },
		"a negative linger":         func(c *Config) { c.BatchLinger = -time.Millisecond },
		"a linger past the txn":     func(c *Config) { c.BatchLinger = c.TransactionTimeout },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := testConfig("a", "in")
			cfg.setDefaults()
			mutate(&cfg)
			if err := cfg.Validate(); err == nil {
				t.Fatalf("%s accepted", name)
			}
		})
	}
}

func TestStageDeadLettersPermanentFailuresAndMovesOn(t *testing.T) {
	addrs := newCluster(t, "in", "out", "dead")
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	// One partition, so the garbage sits in front of good records.
	in := []*kgo.Record{
		{Topic: "in", Partition: 0, Key: []byte("a"), Value: []byte("good-1")},
		{Topic: "in", Partition: 0, Key: []byte("b"), Value: []byte{0xde, 0xad}, Headers: []kgo.RecordHeader{{Key: "trace", Value: []byte("t1")}}},
		{Topic: "in", Partition: 0, Key: []byte("c"), Value: []byte("good-2")},
	}
	if err := cl.ProduceSync(context.Background(), in...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	h := HandlerFunc(func(_ context.Context, r *kgo.Record, _ State) ([]*kgo.Record, error) {
		if !strings.HasPrefix(string(r.Value), "good") {
			return nil, Permanent(errors.New("cannot decode"))
		}
		return []*kgo.Record{{Topic: "out", Key: r.Key, Value: r.Value}}, nil
	})
	cfg := testConfig("a", "in")
	cfg.DeadLetterTopic = "dead"
	startStage(t, addrs, cfg, h)

	if got := readAll(t, addrs, "out", 2); string(got[0].Value) != "good-1" || string(got[1].Value) != "good-2" {
		t.Fatalf("outputs %q, %q: the partition did not move past the bad record", got[0].Value, got[1].Value)
	}
	dead := readAll(t, addrs, "dead", 1)[0]
	if string(dead.Key) != "b" || !bytes.Equal(dead.Value, []byte{0xde, 0xad}) {
		t.Fatalf("dead letter key %q value %x, want the original", dead.Key, dead.Value)
	}
	headers := map[string]string{}
	for _, h := range dead.Headers {
		headers[h.Key] = string(h.Value)
	}
	want := map[string]string{"trace": "t1", HeaderDeadStage: "copy", HeaderDeadTopic: "in", HeaderDeadPartition: "0", HeaderDeadOffset: "1"}
	for k, v := range want {
		if headers[k] != v {
			t.Errorf("header %s = %q, want %q", k, headers[k], v)
		}
	}
	if !strings.Contains(headers[HeaderDeadError], "cannot decode") || headers[HeaderDeadTime] == "" {
		t.Errorf("error headers %v", headers)
	}
}
