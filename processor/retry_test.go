package processor

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/schemas"
)

// retryConfig is a worker of the test stage with retries in delays tiers
// (at most three: runtimeTopics).
func retryConfig(instance string, delays ...time.Duration) Config {
	cfg := testConfig(instance, "in")
	cfg.EventsTopic, cfg.ChangelogTopic = testEvents, testChangelog
	cfg.Retry = &Retry{Delays: delays, ParkedTopic: testParked}
	for tier := range delays {
		cfg.Retry.DelayTopics = append(cfg.Retry.DelayTopics, testDelayTopic(tier+1))
	}
	return cfg
}

func startRetryStage(t *testing.T, addrs []string, codec *schemas.Codec, cfg Config, h Handler) (stop func()) {
	t.Helper()
	return startStageWith(t, cfg, h, Deps{Kafka: []kgo.Opt{kgo.SeedBrokers(addrs...)}, Codec: codec, Log: testLog(t)})
}

// produceTo0 writes keyed values to partition 0 of in, in order.
func produceTo0(t *testing.T, addrs []string, kvs ...string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var rs []*kgo.Record
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		rs = append(rs, &kgo.Record{Topic: "in", Partition: 0, Key: []byte(k), Value: []byte(v)})
	}
	if err := cl.ProduceSync(context.Background(), rs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// TestRetriesKeepEveryKeysOrder: 30 % of tries fail transiently (never
// more than three in a row, so nothing parks); every record is processed
// exactly once, each key's outputs come in input order, and retried
// records say which try succeeded.
func TestRetriesKeepEveryKeysOrder(t *testing.T) {
	addrs := newCluster(t, "in", "out")
	const keys, perKey = 20, 10
	produceN(t, addrs, "in", keys, perKey)
	var failed atomic.Int64
	h := HandlerFunc(func(_ context.Context, r *kgo.Record, _ State) ([]*kgo.Record, error) {
		attempt := Attempt(r)
		f := fnv.New32a()
		fmt.Fprintf(f, "%s/%s/%d", r.Key, r.Value, attempt)
		if attempt <= 3 && f.Sum32()%10 < 3 {
			failed.Add(1)
			return nil, Transient(errors.New("checker timed out"))
		}
		return []*kgo.Record{{Topic: "out", Key: r.Key, Value: r.Value,
			Headers: []kgo.RecordHeader{{Key: "attempt", Value: []byte(strconv.Itoa(attempt))}}}}, nil
	})
	startRetryStage(t, addrs, testCodec(t), retryConfig("a", 20*time.Millisecond, 40*time.Millisecond, 80*time.Millisecond), h)

	got := readAll(t, addrs, "out", keys*perKey)
	checkExactlyOnceInOrder(t, got, keys, perKey)
	retried := 0
	for _, r := range got {
		if header(r, "attempt") != "1" {
			retried++
		}
	}
	if failed.Load() == 0 || retried == 0 {
		t.Fatalf("%d failures, %d records retried: the test did not exercise retries", failed.Load(), retried)
	}
}

// TestSlowKeyDoesNotStallItsBucket: one key's checks keep failing; the
// other keys of its partition keep completing, and the key's later record
// waits behind its earlier one in the delay tier, untried.
func TestSlowKeyDoesNotStallItsBucket(t *testing.T) {
	addrs := newCluster(t, "in", "out")
	var kvs []string
	kvs = append(kvs, "slow=s0")
	for i := range 30 {
		kvs = append(kvs, fmt.Sprintf("k%d=v%d", i%5, i))
	}
	kvs = append(kvs, "slow=s1")
	for i := 30; i < 40; i++ {
		kvs = append(kvs, fmt.Sprintf("k%d=v%d", i%5, i))
	}
	produceTo0(t, addrs, kvs...)

	var tries sync.Map
	h := HandlerFunc(func(_ context.Context, r *kgo.Record, _ State) ([]*kgo.Record, error) {
		n, _ := tries.LoadOrStore(string(r.Value), new(atomic.Int32))
		n.(*atomic.Int32).Add(1)
		if string(r.Key) == "slow" {
			return nil, errors.New("connection refused") // unmarked: transient
		}
		return []*kgo.Record{{Topic: "out", Key: r.Key, Value: r.Value}}, nil
	})
	startRetryStage(t, addrs, testCodec(t), retryConfig("a", time.Hour), h)

	got := readAll(t, addrs, "out", 40)
	for _, r := range got {
		if string(r.Key) == "slow" {
			t.Fatalf("the failing key produced output %q", r.Value)
		}
	}
	waiting := readAll(t, addrs, testDelayTopic(1), 2)
	if string(waiting[0].Value) != "s0" || header(waiting[0], HeaderRetryAttempts) != "1" ||
		string(waiting[1].Value) != "s1" || header(waiting[1], HeaderRetryAttempts) != "0" {
		t.Fatalf("delay tier holds %q (attempts %s), %q (attempts %s); want s0 tried once, then s1 untried",
			waiting[0].Value, header(waiting[0], HeaderRetryAttempts), waiting[1].Value, header(waiting[1], HeaderRetryAttempts))
	}
	if n, _ := tries.Load("s1"); n != nil {
		t.Fatalf("s1 was tried %d times while s0 waited", n.(*atomic.Int32).Load())
	}
}

// TestParkedAfterTheLastTier: an item failing in every tier is parked with
// where it came from, and its events say ERROR for each delayed try and
// REPROCESS for the last.
func TestParkedAfterTheLastTier(t *testing.T) {
	addrs := newCluster(t, "in", "out")
	produceTo0(t, addrs, "u1=x")
	h := HandlerFunc(func(context.Context, *kgo.Record, State) ([]*kgo.Record, error) {
		return nil, Transient(errors.New("503 from checker"))
	})
	codec := testCodec(t)
	startRetryStage(t, addrs, codec, retryConfig("a", 10*time.Millisecond, 20*time.Millisecond), h)

	parked := readAll(t, addrs, testParked, 1)[0]
	if string(parked.Value) != "x" || header(parked, HeaderDeadTopic) != "in" || header(parked, HeaderRetryAttempts) != "3" ||
		!strings.Contains(header(parked, HeaderDeadError), "503 from checker") {
		t.Fatalf("parked record %q with headers %v", parked.Value, parked.Headers)
	}
	var statuses []string
	for _, r := range readAll(t, addrs, testEvents, 3) {
		var e schemas.Event
		if err := codec.Decode(r.Value, &e); err != nil {
			t.Fatal(err)
		}
		statuses = append(statuses, fmt.Sprintf("%s/%d/%s", e.Status, e.Attempt, e.ErrorClass))
	}
	if want := "ERROR/1/transient ERROR/2/transient REPROCESS/3/transient"; strings.Join(statuses, " ") != want {
		t.Fatalf("events %v, want %s", statuses, want)
	}
}

// TestParkingReleasesTheKey: a key's later record waits while its older
// one goes round the tiers, and is tried once the older one has parked.
func TestParkingReleasesTheKey(t *testing.T) {
	addrs := newCluster(t, "in", "out")
	produceTo0(t, addrs, "u=0", "u=1")
	var mu sync.Mutex
	var tries []string
	h := HandlerFunc(func(_ context.Context, r *kgo.Record, _ State) ([]*kgo.Record, error) {
		mu.Lock()
		tries = append(tries, string(r.Value))
		mu.Unlock()
		if string(r.Value) == "0" {
			return nil, Transient(errors.New("checker down"))
		}
		return []*kgo.Record{{Topic: "out", Key: r.Key, Value: r.Value}}, nil
	})
	startRetryStage(t, addrs, testCodec(t), retryConfig("a", 10*time.Millisecond, 20*time.Millisecond), h)

	if out := readAll(t, addrs, "out", 1)[0]; string(out.Value) != "1" {
		t.Fatalf("output %q, want 1", out.Value)
	}
	if parked := readAll(t, addrs, testParked, 1)[0]; string(parked.Value) != "0" {
		t.Fatalf("parked %q, want 0", parked.Value)
	}
	mu.Lock()
	defer mu.Unlock()
	if got := strings.Join(tries, ","); got != "0,0,0,1" {
		t.Fatalf("tries %s, want 0 three times (then parked), then 1", got)
	}
}

// TestPermanentErrorFailsAtOnce: bad data is dead-lettered with a FAILED
// event on its first try and never enters a delay tier.
func TestPermanentErrorFailsAtOnce(t *testing.T) {
	addrs := newCluster(t, "in", "out", "dead")
	produceTo0(t, addrs, "bad=x", "good=y")
	h := HandlerFunc(func(_ context.Context, r *kgo.Record, _ State) ([]*kgo.Record, error) {
		if string(r.Key) == "bad" {
			return nil, Permanent(errors.New("400 Bad Request: no such user"))
		}
		return []*kgo.Record{{Topic: "out", Key: r.Key, Value: r.Value}}, nil
	})
	codec := testCodec(t)
	cfg := retryConfig("a", time.Hour)
	cfg.DeadLetterTopic = "dead"
	startRetryStage(t, addrs, codec, cfg, h)

	// good=y comes after bad=x in the partition: once its output is
	// committed, so is whatever became of bad=x.
	readAll(t, addrs, "out", 1)
	if dead := readAll(t, addrs, "dead", 1)[0]; string(dead.Key) != "bad" || string(dead.Value) != "x" {
		t.Fatalf("dead letter %s=%s, want bad=x", dead.Key, dead.Value)
	}
	events := map[string]schemas.Event{}
	for _, r := range readAll(t, addrs, testEvents, 2) {
		var e schemas.Event
		if err := codec.Decode(r.Value, &e); err != nil {
			t.Fatal(err)
		}
		events[e.ItemID] = e
	}
	if e := events["bad"]; e.Status != schemas.StatusFailed || e.Attempt != 1 || e.ErrorClass != "permanent" {
		t.Fatalf("event %+v, want bad FAILED on attempt 1, class permanent", e)
	}
	if e := events["good"]; e.Status != schemas.StatusSuccess {
		t.Fatalf("event %+v, want good SUCCESS (the test stage is not the last)", e)
	}
	adm, err := kadm.NewOptClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	ends, err := adm.ListEndOffsets(context.Background(), testDelayTopic(1))
	if err != nil {
		t.Fatal(err)
	}
	if err := ends.Error(); err != nil || len(ends[testDelayTopic(1)]) == 0 {
		t.Fatalf("end offsets of the delay tier: %v %v", ends, err)
	}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset != 0 {
			t.Errorf("delay tier partition %d holds %d records, want none", o.Partition, o.Offset)
		}
	})
}

// TestWaitingKeysSurviveAReassignment: a worker that takes over a bucket
// reads its changelog, so a new record of a key whose older records wait
// in a delay tier still waits behind them.
func TestWaitingKeysSurviveAReassignment(t *testing.T) {
	addrs := newCluster(t, "in", "out")
	codec := testCodec(t)
	// Worker a fails every try. On a slow machine its delayer may return
	// the records before a stops; a try after the first then waits until
	// a is stopping, so the records are in tier 1 or 2 when b takes over,
	// never parked.
	stopping := make(chan struct{})
	down := HandlerFunc(func(_ context.Context, r *kgo.Record, _ State) ([]*kgo.Record, error) {
		if Attempt(r) > 1 {
			<-stopping
		}
		return nil, Transient(errors.New("checker down"))
	})
	up := HandlerFunc(func(_ context.Context, r *kgo.Record, _ State) ([]*kgo.Record, error) {
		return []*kgo.Record{{Topic: "out", Key: r.Key, Value: r.Value}}, nil
	})
	const delay = time.Second
	stopA := startRetryStage(t, addrs, codec, retryConfig("a", delay, delay), down)
	produceTo0(t, addrs, "u=0", "u=1")
	readAll(t, addrs, testDelayTopic(1), 2) // u=0 tried and delayed, u=1 behind it
	close(stopping)
	stopA()

	// u=2 is ahead in the input of whatever b's delayers return: only the
	// changelog tells b that it must wait behind u=0 and u=1.
	produceTo0(t, addrs, "u=2")
	startRetryStage(t, addrs, codec, retryConfig("b", delay, delay), up)
	got := readAll(t, addrs, "out", 3)
	var order []string
	for _, r := range got {
		order = append(order, string(r.Value))
	}
	if strings.Join(order, ",") != "0,1,2" {
		t.Fatalf("outputs in order %v, want 0,1,2", order)
	}
}

func testLog(t *testing.T) *slog.Logger {
	if os.Getenv("RATION_TEST_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
