package processor

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// batchSizes records how many records of each bucket every batch held.
type batchSizes struct {
	Handler
	mu      sync.Mutex
	current map[int32]int
	ended   map[int32][]int
	records chan struct{}
}

func newBatchSizes(out string) *batchSizes {
	return &batchSizes{Handler: copyHandler(out), current: map[int32]int{}, ended: map[int32][]int{}, records: make(chan struct{}, 1000)}
}

func (h *batchSizes) Process(ctx context.Context, r *kgo.Record, st State) ([]*kgo.Record, error) {
	h.mu.Lock()
	h.current[r.Partition]++
	h.mu.Unlock()
	return h.Handler.Process(ctx, r, st)
}

func (h *batchSizes) EndBatch(_ context.Context, bucket int32, _ State) ([]*kgo.Record, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if n := h.current[bucket]; n > 0 {
		h.ended[bucket] = append(h.ended[bucket], n)
		for range n {
			h.records <- struct{}{}
		}
	}
	h.current[bucket] = 0
	return nil, nil
}

// await returns the batch sizes once n records were processed in ended
// batches.
func (h *batchSizes) await(t *testing.T, n int) map[int32][]int {
	t.Helper()
	timeout := time.After(time.Minute)
	for range n {
		select {
		case <-h.records:
		case <-timeout:
			t.Fatalf("fewer than %d records processed in a minute", n)
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ended
}

// TestBatchLingerGathersAShortBatch: with a linger, records that arrive
// one by one within it make one batch (one transaction), where each would
// otherwise be a poll of its own; a batch never grows past MaxPollRecords,
// and a full one does not wait.
func TestBatchLingerGathersAShortBatch(t *testing.T) {
	addrs := newCluster(t, "in", "out")
	h := newBatchSizes("out")
	cfg := statefulConfig("a")
	// A linger well below the transaction timeout: with the tests' 1.8 s,
	// a 1.5 s linger under a loaded CI aborted a transaction now and
	// then, and its batch, processed again, counted twice.
	cfg.SessionTimeout, cfg.TransactionTimeout = 20*time.Second, 12*time.Second
	cfg.BatchLinger = 1500 * time.Millisecond
	cfg.MaxPollRecords = 10
	startStageWith(t, cfg, h, Deps{Kafka: []kgo.Opt{kgo.SeedBrokers(addrs...)}, Codec: testCodec(t)})

	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ProducerLinger(0))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	produce := func(n int) (bucket int32) {
		for i := range n {
			r := &kgo.Record{Topic: "in", Key: []byte("k"), Value: []byte(strconv.Itoa(i))}
			if err := cl.ProduceSync(context.Background(), r).FirstErr(); err != nil {
				t.Fatal(err)
			}
			bucket = r.Partition
			time.Sleep(20 * time.Millisecond) // the records' arrival, one by one (not a wait for anything)
		}
		return bucket
	}
	// The stage joins its group before it polls: a first record makes sure
	// it is polling, so the next five arrive during one linger.
	bucket := produce(1)
	h.await(t, 1)
	produce(5)
	if got := h.await(t, 5)[bucket]; !slices.Equal(got, []int{1, 5}) {
		t.Fatalf("batches of bucket %d: %v, want [1 5]: the five records in one", bucket, got)
	}
	// 25 records at once: full batches of 10 go without lingering; the
	// last 5 wait their linger for more.
	start := time.Now()
	var rs []*kgo.Record
	for i := range 25 {
		rs = append(rs, &kgo.Record{Topic: "in", Key: []byte("k"), Value: []byte(strconv.Itoa(i))})
	}
	if err := cl.ProduceSync(context.Background(), rs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	got := h.await(t, 25)[bucket]
	if !slices.Equal(got[2:], []int{10, 10, 5}) {
		t.Fatalf("batches of bucket %d: %v, want [1 5 10 10 5]", bucket, got)
	}
	// One linger is 1.5 s; had the full batches lingered too, 4.5 s.
	if waited := time.Since(start); waited > 3500*time.Millisecond {
		t.Fatalf("25 records took %v: full batches lingered", waited)
	}
}
