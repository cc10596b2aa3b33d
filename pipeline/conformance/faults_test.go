package conformance

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/pipeline"
	"github.com/rationhq/ration/processor"
)

// TestFaultsNeverParkAnItem: whatever the seed, an item fails at most as
// many tries as the stage has tiers, so its last try succeeds; the poison
// key fails every try.
func TestFaultsNeverParkAnItem(t *testing.T) {
	const tiers = 3
	f := newFaults(faultSpec{Seed: 7, Percent: 90, Poison: map[string]string{"b": "p"}})
	failed := 0
	for i := range 1000 {
		key, value := []byte("k"+strconv.Itoa(i%17)), []byte(strconv.Itoa(i))
		for attempt := 1; attempt <= tiers+1; attempt++ {
			if f.fails("a", tiers, key, value, attempt) {
				failed++
				if attempt > tiers {
					t.Fatalf("%s/%s failed its try %d, past the %d tiers: it would park", key, value, attempt, tiers)
				}
			}
		}
	}
	if failed < 2000 {
		t.Fatalf("%d tries of 4000 failed at 90 %%", failed)
	}
	for attempt := 1; attempt <= 10; attempt++ {
		if !f.fails("b", tiers, []byte("p"), []byte("x"), attempt) {
			t.Fatalf("the poison key's try %d in its stage passed", attempt)
		}
		if f.fails("a", tiers, []byte("p"), []byte("x"), tiers+attempt) {
			t.Fatalf("the poison key failed past the tiers of another stage")
		}
	}
}

// TestFaultsAreTheSameInEveryProcess: the decision depends only on the
// seed and the try, so processes that share a spec fail the same tries,
// and another seed fails others.
func TestFaultsAreTheSameInEveryProcess(t *testing.T) {
	a, b := newFaults(faultSpec{Seed: 1, Percent: 30}), newFaults(faultSpec{Seed: 1, Percent: 30})
	other := newFaults(faultSpec{Seed: 2, Percent: 30})
	differ := 0
	for i := range 500 {
		k, v := []byte(fmt.Sprint("k", i%9)), []byte(fmt.Sprint(i))
		if a.fails("s", 3, k, v, 1) != b.fails("s", 3, k, v, 1) {
			t.Fatalf("two injectors of one spec disagree on %s/%s", k, v)
		}
		if a.fails("s", 3, k, v, 1) != other.fails("s", 3, k, v, 1) {
			differ++
		}
	}
	if differ == 0 {
		t.Fatal("another seed failed the very same tries")
	}
}

// TestInjectedFailureComesAfterTheHandler: the handler runs (its side
// effects happen) and the try fails transiently without outputs.
func TestInjectedFailureComesAfterTheHandler(t *testing.T) {
	f := newFaults(faultSpec{Poison: map[string]string{"s": "k"}})
	ran := 0
	build := f.wrapConstructor("s", 3, func(pipeline.Env) (processor.Handler, error) {
		return processor.HandlerFunc(func(_ context.Context, r *kgo.Record, _ processor.State) ([]*kgo.Record, error) {
			ran++
			return []*kgo.Record{{Topic: "out", Key: r.Key}}, nil
		}), nil
	})
	h, err := build(pipeline.Env{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := h.Process(context.Background(), &kgo.Record{Key: []byte("k")}, nil)
	if ran != 1 || out != nil || processor.Class(err) != "transient" {
		t.Fatalf("handler ran %d times, outputs %v, error %v: want it run once, no outputs, a transient error", ran, out, err)
	}
	if n := f.counter("s").Load(); n != 1 {
		t.Fatalf("%d failures counted, want 1", n)
	}
}

// TestSentinelKeysLandInTheirPartition: the default partitioner puts
// partition p's sentinel key in p.
func TestSentinelKeysLandInTheirPartition(t *testing.T) {
	for _, n := range []int32{1, 6, 12} {
		keys := sentinelKeys("x", "any", n)
		part := kgo.StickyKeyPartitioner(nil).ForTopic("another")
		for p, k := range keys {
			if got := part.Partition(&kgo.Record{Key: []byte(k)}, int(n)); got != p {
				t.Fatalf("%d partitions: sentinel %s lands in %d, want %d", n, k, got, p)
			}
		}
	}
}
