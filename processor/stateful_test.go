package processor

import (
	"context"
	"errors"
	"log/slog"
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

// statefulConfig is a worker of the test stage with a state store.
func statefulConfig(instance string) Config {
	cfg := testConfig(instance, "in")
	cfg.EventsTopic, cfg.ChangelogTopic, cfg.State = testEvents, testChangelog, true
	return cfg
}

// counter counts each key's records in the state and writes the count:
// key=n for its n-th record.
func counter(out string) Handler {
	return HandlerFunc(func(_ context.Context, r *kgo.Record, st State) ([]*kgo.Record, error) {
		n := 0
		if v, ok := st.Get(string(r.Key)); ok {
			n, _ = strconv.Atoi(string(v))
		}
		n++
		st.Put(string(r.Key), []byte(strconv.Itoa(n)))
		return []*kgo.Record{{Topic: out, Key: r.Key, Value: []byte(strconv.Itoa(n - 1))}}, nil
	})
}

// TestStateSurvivesAReassignment: a worker that takes over buckets
// restores their state from the changelog before their first record, so
// every key's count goes on where the last owner left it.
func TestStateSurvivesAReassignment(t *testing.T) {
	addrs := newCluster(t, "in", "out")
	codec := testCodec(t)
	const keys, perKey = 20, 10
	produceN(t, addrs, "in", keys, perKey/2)
	deps := Deps{Kafka: []kgo.Opt{kgo.SeedBrokers(addrs...)}, Codec: codec, Log: testLog(t)}
	stopA := startStageWith(t, statefulConfig("a"), counter("out"), deps)
	readAll(t, addrs, "out", keys*perKey/2)
	stopA()

	startStageWith(t, statefulConfig("b"), counter("out"), deps)
	produceN(t, addrs, "in", keys, perKey/2)
	checkExactlyOnceInOrder(t, readAll(t, addrs, "out", keys*perKey), keys, perKey)
}

// TestFailedTryLeavesNoState: a try that fails transiently (here, without
// retries: the batch aborts) leaves nothing in the state, so the count it
// started is not counted twice.
func TestFailedTryLeavesNoState(t *testing.T) {
	addrs := newCluster(t, "in", "out")
	produceN(t, addrs, "in", 5, 6)
	var mu sync.Mutex
	failures := 3
	count := counter("out")
	h := HandlerFunc(func(ctx context.Context, r *kgo.Record, st State) ([]*kgo.Record, error) {
		out, err := count.Process(ctx, r, st) // changes the state, then fails
		mu.Lock()
		defer mu.Unlock()
		if string(r.Key) == "k2" && failures > 0 {
			failures--
			return nil, Transient(errors.New("flaky"))
		}
		return out, err
	})
	s, err := New(statefulConfig("a"), h, Deps{Kafka: []kgo.Opt{kgo.SeedBrokers(addrs...)}, Codec: testCodec(t)})
	if err != nil {
		t.Fatal(err)
	}
	s.retryPause = 10 * time.Millisecond
	stop := runStage(t, s)
	got := readAll(t, addrs, "out", 30)
	stop()
	checkExactlyOnceInOrder(t, got, 5, 6)
}

// TestUnsureCommitReadsStateAgain: a stage told that a batch's commit
// failed cannot know it did not commit (a broker that died after the
// commit and before its answer; kfake told such a client its state was
// invalid). Here every other commit is made but reported as failed. The
// stage must not go on from the state it had before such a batch: it
// reads the batch's buckets again from the changelog, so every key's
// count goes on from what the log holds, with no count written twice.
func TestUnsureCommitReadsStateAgain(t *testing.T) {
	addrs := newCluster(t, "in", "out")
	const keys, perKey = 6, 20
	s, err := New(statefulConfig("a"), counter("out"), Deps{Kafka: []kgo.Opt{kgo.SeedBrokers(addrs...)}, Codec: testCodec(t)})
	if err != nil {
		t.Fatal(err)
	}
	var unsure atomic.Int32
	s.end = func(ctx context.Context, sess *kgo.GroupTransactSession, commit bool, log *slog.Logger, records int) (bool, bool, error) {
		committed, _, err := s.endTransaction(ctx, sess, commit, log, records)
		if committed && unsure.Add(1)%2 == 1 {
			return false, true, err // committed, and reported as not known
		}
		return committed, false, err
	}
	stop := runStage(t, s)
	for range perKey / 2 { // batch after batch
		produceN(t, addrs, "in", keys, 2)
	}
	got := readAll(t, addrs, "out", keys*perKey)
	stop()
	if unsure.Load() < 2 {
		t.Fatalf("%d commits reported unsure; the test needs some", unsure.Load())
	}
	checkExactlyOnceInOrder(t, got, keys, perKey)
}

// TestBatchOfADroppedBucketDoesNotCommit: a bucket whose state is dropped
// while a batch of it runs (here given anew to the worker mid-batch, so
// that its state must be read again) may have been decided from a state
// the worker no longer had; the batch aborts and runs again on the state
// restored from the changelog, so every key's count goes on without a
// count written twice.
func TestBatchOfADroppedBucketDoesNotCommit(t *testing.T) {
	addrs := newCluster(t, "in", "out")
	const keys, perKey = 6, 10
	produceN(t, addrs, "in", keys, perKey/2)
	var (
		s       *Stage
		dropped atomic.Bool
	)
	count := counter("out")
	h := HandlerFunc(func(ctx context.Context, r *kgo.Record, st State) ([]*kgo.Record, error) {
		if string(r.Value) == strconv.Itoa(perKey/2) && dropped.CompareAndSwap(false, true) {
			s.assigned(ctx, nil, map[string][]int32{r.Topic: {r.Partition}}) // given anew, mid-batch
		}
		return count.Process(ctx, r, st)
	})
	var err error
	s, err = New(statefulConfig("a"), h, Deps{Kafka: []kgo.Opt{kgo.SeedBrokers(addrs...)}, Codec: testCodec(t)})
	if err != nil {
		t.Fatal(err)
	}
	s.retryPause = 10 * time.Millisecond
	stop := runStage(t, s)
	readAll(t, addrs, "out", keys*perKey/2) // the first half committed: the state holds counts
	produceN(t, addrs, "in", keys, perKey)  // values 0..9 again; the drop comes at the first 5
	got := readAll(t, addrs, "out", keys*perKey+keys*perKey/2)
	stop()
	if !dropped.Load() {
		t.Fatal("no bucket was dropped mid-batch")
	}
	checkExactlyOnceInOrder(t, got, keys, perKey+perKey/2)
}

// TestNewBucketsAreReadAgain: a bucket a rebalance gives this worker is
// read again from its changelog, whatever state the worker held of it; a
// bucket it kept keeps its state. The chaos run (seed 1) met the stale
// copy: a worker stalled past its session restored its old buckets from an
// assignment it saw late, while their new owner went on changing them;
// given them back, it decided a points group's next entry from a ledger
// that lacked the owner's last one.
func TestNewBucketsAreReadAgain(t *testing.T) {
	s, err := New(statefulConfig("a"), counter("out"), Deps{Codec: testCodec(t)})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []int32{3, 4} {
		s.store.Init(b)
		s.store.Set(b, "s/k", []byte("5"))
	}
	s.joined = true // not the first assignment: nothing to say about idleness
	s.assigned(context.Background(), nil, map[string][]int32{"in": {3}})
	if s.store.Has(3) {
		t.Fatal("bucket 3, given anew, kept the state the worker held of it")
	}
	if v, ok := s.store.Get(4, "s/k"); !ok || string(v) != "5" {
		t.Fatalf("bucket 4, kept, lost its state: %q %v", v, ok)
	}
}

// TestLedgerHoldsTheKeyWhileParked: in a stage that holds keys
// (Retry.Hold), a key's later records wait, untried, while its oldest is
// parked; once the reprocessor sends the parked one again and it
// succeeds, the key goes on in order.
func TestLedgerHoldsTheKeyWhileParked(t *testing.T) {
	addrs := newCluster(t, "in", "out")
	codec := testCodec(t)
	var mu sync.Mutex
	var tried []string
	down := true
	h := HandlerFunc(func(_ context.Context, r *kgo.Record, _ State) ([]*kgo.Record, error) {
		mu.Lock()
		defer mu.Unlock()
		tried = append(tried, ItemID(r))
		if down && ItemID(r) == "debit-1" {
			return nil, Transient(errors.New("ledger store unavailable"))
		}
		return []*kgo.Record{{Topic: "out", Key: r.Key, Value: []byte(ItemID(r))}}, nil
	})
	cfg := retryConfig("a", 10*time.Millisecond)
	cfg.Retry.Hold = true
	startRetryStage(t, addrs, codec, cfg, h)

	produce := func(items ...string) {
		cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		for _, it := range items {
			r := &kgo.Record{Topic: "in", Partition: 0, Key: []byte("acct-7"), Value: []byte(it),
				Headers: []kgo.RecordHeader{{Key: HeaderItem, Value: []byte(it)}}}
			if err := cl.ProduceSync(context.Background(), r).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	produce("debit-1", "debit-2", "credit-3")
	parked := readAll(t, addrs, testParked, 1)[0]
	if header(parked, HeaderItem) != "debit-1" {
		t.Fatalf("parked %q, want debit-1", header(parked, HeaderItem))
	}
	// The followers come back from the last tier and wait again, untried;
	// a new record of the key joins them.
	produce("debit-4")
	waitDelayed(t, addrs, 4)
	mu.Lock()
	for _, it := range tried {
		if it != "debit-1" {
			t.Fatalf("%s was tried while debit-1 was parked (tries %v)", it, tried)
		}
	}
	down = false
	mu.Unlock()

	// The reprocessor sends the parked record again.
	again := Reinject(parked, 1)
	again.Topic, again.Partition = "in", 0
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(context.Background(), again).FirstErr(); err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, r := range readAll(t, addrs, "out", 4) {
		order = append(order, string(r.Value))
	}
	if got := strings.Join(order, ","); got != "debit-1,debit-2,credit-3,debit-4" {
		t.Fatalf("outputs %s, want the key's records in order", got)
	}
}

// waitDelayed waits until the delay tier has held at least n records.
func waitDelayed(t *testing.T, addrs []string, n int) {
	t.Helper()
	readAll(t, addrs, testDelayTopic(1), n)
}

// TestRejectionWritesOutputsAndFailed: a rejected item's outputs are
// produced with a FAILED event of class rejected, and no dead letter.
func TestRejectionWritesOutputsAndFailed(t *testing.T) {
	addrs := newCluster(t, "in", "out", "dead")
	codec := testCodec(t)
	produceTo0(t, addrs, "r1=bad", "r2=good")
	h := HandlerFunc(func(_ context.Context, r *kgo.Record, _ State) ([]*kgo.Record, error) {
		out := []*kgo.Record{{Topic: "out", Key: r.Key, Value: r.Value}}
		if string(r.Value) == "bad" {
			return out, Reject(errors.New("tax office refused: bad VAT number"))
		}
		return out, nil
	})
	cfg := retryConfig("a", time.Hour)
	cfg.DeadLetterTopic, cfg.Last = "dead", true
	startRetryStage(t, addrs, codec, cfg, h)
	readAll(t, addrs, "out", 2)
	events := map[string]schemas.Event{}
	for _, r := range readAll(t, addrs, testEvents, 2) {
		var e schemas.Event
		if err := codec.Decode(r.Value, &e); err != nil {
			t.Fatal(err)
		}
		events[e.ItemID] = e
	}
	if e := events["r1"]; e.Status != schemas.StatusFailed || e.ErrorClass != "rejected" || !strings.Contains(e.Error, "bad VAT") {
		t.Fatalf("event of the rejected item: %+v", e)
	}
	if e := events["r2"]; e.Status != schemas.StatusProcessed {
		t.Fatalf("event of the last stage's success: %+v, want PROCESSED", e)
	}
	if n := endOffsets(t, addrs, "dead"); n != 0 {
		t.Fatalf("%d dead letters, want none", n)
	}
}

// TestOutputsCarryTheItem: an input's item id and retry count go with its
// outputs, so the next stage's events name the same item.
func TestOutputsCarryTheItem(t *testing.T) {
	addrs := newCluster(t, "in", "out")
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	in := &kgo.Record{Topic: "in", Key: []byte("group-1"), Value: []byte("x"), Headers: []kgo.RecordHeader{
		{Key: HeaderItem, Value: []byte("cmd-9")}, {Key: HeaderRetryCount, Value: []byte("2")}}}
	if err := cl.ProduceSync(context.Background(), in).FirstErr(); err != nil {
		t.Fatal(err)
	}
	startStage(t, addrs, testConfig("a", "in"), copyHandler("out"))
	out := readAll(t, addrs, "out", 1)[0]
	if header(out, HeaderItem) != "cmd-9" || header(out, HeaderRetryCount) != "2" {
		t.Fatalf("output headers %v, want the item and its retry count", out.Headers)
	}
}

// TestBatchEnderWritesOncePerBucket: a BatchEnder's records come once per
// bucket of each batch, in its transaction.
func TestBatchEnderWritesOncePerBucket(t *testing.T) {
	addrs := newCluster(t, "in", "out", "totals")
	produceN(t, addrs, "in", 30, 5)
	h := &totals{Handler: counter("out")}
	cfg := statefulConfig("a")
	cfg.LanesByPartition = true // the total is the bucket's, not a key's
	startStageWith(t, cfg, h, Deps{Kafka: []kgo.Opt{kgo.SeedBrokers(addrs...)}, Codec: testCodec(t)})
	readAll(t, addrs, "out", 150)
	// Each bucket's latest total is its share of the 150 records.
	latest := map[string]int{}
	sum := 0
	for _, r := range readAll(t, addrs, "totals", int(h.ended.Load())) {
		n, _ := strconv.Atoi(string(r.Value))
		latest[string(r.Key)] = max(latest[string(r.Key)], n)
	}
	for _, n := range latest {
		sum += n
	}
	if sum != 150 {
		t.Fatalf("bucket totals add up to %d, want 150", sum)
	}
}

// totals counts every record of a bucket and writes the bucket's total
// once a batch, keyed by the bucket.
type totals struct {
	Handler
	ended atomic.Int64
}

func (h *totals) Process(ctx context.Context, r *kgo.Record, st State) ([]*kgo.Record, error) {
	n := 0
	if v, ok := st.Get("total"); ok {
		n, _ = strconv.Atoi(string(v))
	}
	st.Put("total", []byte(strconv.Itoa(n+1)))
	return h.Handler.Process(ctx, r, st)
}

func (h *totals) EndBatch(_ context.Context, bucket int32, st State) ([]*kgo.Record, error) {
	v, _ := st.Get("total")
	h.ended.Add(1)
	return []*kgo.Record{{Topic: "totals", Key: []byte(strconv.Itoa(int(bucket))), Value: v}}, nil
}

// endOffsets is the number of offsets topic's partitions hold in all.
func endOffsets(t *testing.T, addrs []string, topic string) int64 {
	t.Helper()
	adm, err := kadm.NewOptClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	ends, err := adm.ListEndOffsets(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
	return n
}

// TestRestoreSkipsABucketReleasedAfterThePoll: a batch polled before its
// bucket was lost or revoked does not load the bucket after the release;
// else the next assignment would take that copy, stale by what the next
// owner committed meanwhile, for restored.
func TestRestoreSkipsABucketReleasedAfterThePoll(t *testing.T) {
	addrs := newCluster(t, "in", "out")
	s, err := New(statefulConfig("a"), counter("out"), Deps{Kafka: []kgo.Opt{kgo.SeedBrokers(addrs...)}, Codec: testCodec(t)})
	if err != nil {
		t.Fatal(err)
	}
	parts := map[string][]int32{"in": {0}}
	s.prio.assign(parts)
	polled := []*kgo.Record{{Topic: "in", Partition: 0, Key: []byte("k")}}
	s.release(parts) // lost between the poll and the batch
	if err := s.restore(context.Background(), polled); err != nil {
		t.Fatal(err)
	}
	if s.store.Has(0) {
		t.Fatal("the batch loaded bucket 0 after it was released; at its next assignment that copy would pass for restored")
	}
}

// TestDuplicateLeavesNoTrace: a record the handler calls a duplicate has
// no outputs, no status event and no state change; the records around it
// are processed as usual.
func TestDuplicateLeavesNoTrace(t *testing.T) {
	addrs := newCluster(t, "in", "out", "dead")
	codec := testCodec(t)
	produceTo0(t, addrs, "k=first", "k=second", "k=third")
	h := HandlerFunc(func(_ context.Context, r *kgo.Record, _ State) ([]*kgo.Record, error) {
		if string(r.Value) == "second" {
			return []*kgo.Record{{Topic: "out", Key: r.Key, Value: r.Value}}, Duplicate(errors.New("another body under k"))
		}
		return []*kgo.Record{{Topic: "out", Key: r.Key, Value: r.Value}}, nil
	})
	cfg := retryConfig("a", time.Hour)
	cfg.DeadLetterTopic, cfg.Last = "dead", true
	startRetryStage(t, addrs, codec, cfg, h)
	var got []string
	for _, r := range readAll(t, addrs, "out", 2) {
		got = append(got, string(r.Value))
	}
	if strings.Join(got, ",") != "first,third" {
		t.Fatalf("outputs %v, want first and third", got)
	}
	// Events are written in input order: a duplicate's would be the
	// second.
	for _, r := range readAll(t, addrs, testEvents, 2) {
		var e schemas.Event
		if err := codec.Decode(r.Value, &e); err != nil {
			t.Fatal(err)
		}
		if e.SourceOffset == 1 {
			t.Fatalf("an event for the duplicate: %+v", e)
		}
	}
}
