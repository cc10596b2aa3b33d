package dm

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestWorkerChecksEveryMarkOnce(t *testing.T) {
	r := newRig(t, 12)
	r.mark(t, "u", 2000, PriorityNormal)
	r.startWorker(t, "w1", nil, StageCheck)
	r.startWorker(t, "w2", nil, StageCheck)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	seen := make(map[string]int)
	for res := range r.results(t, ctx) {
		seen[res.UserID]++
		if seen[res.UserID] > 1 {
			t.Fatalf("user %s has a second result", res.UserID)
		}
		if res.Status != ResultChecked || *res.OpenDM != Answer(res.UserID) {
			t.Fatalf("result %+v", res)
		}
		if len(seen) == 2000 {
			return
		}
	}
	t.Fatalf("only %d of 2000 users checked", len(seen))
}

// TestPriority: with a backlog of normal marks, high marks sent later are
// all checked before the backlog drains, and normal work keeps its share
// meanwhile (DM-5, DM-8). Times are the results' checked_at, so the test's
// own reading speed does not matter.
func TestPriorityJumpsTheQueueWithoutStarvingNormal(t *testing.T) {
	const backlog, high = 100_000, 100
	r := newRig(t, 12)
	r.mark(t, "n", backlog, PriorityNormal)
	// A checker with some latency keeps the backlog around long enough.
	r.startWorker(t, "w1", func(o *Options) { o.SimLatency = time.Millisecond }, StageCheck)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	results := r.results(t, ctx)
	var all []Result
	for len(all) < backlog/20 {
		all = append(all, <-results)
	}
	highSent := time.Now()
	r.mark(t, "h", high, PriorityHigh)
	for len(all) < backlog+high {
		res, ok := <-results
		if !ok {
			t.Fatalf("results ended after %d of %d", len(all), backlog+high)
		}
		all = append(all, res)
	}

	var highDone, normalDone time.Time
	for _, res := range all {
		if res.Priority == PriorityHigh {
			highDone = maxTime(highDone, res.CheckedAt)
		} else {
			normalDone = maxTime(normalDone, res.CheckedAt)
		}
	}
	if !highDone.Before(normalDone) {
		t.Fatalf("high marks done at %v, not before the backlog drained at %v", highDone, normalDone)
	}
	meanwhile := 0
	for _, res := range all {
		if res.Priority == PriorityNormal && !res.CheckedAt.Before(highSent.Truncate(time.Millisecond)) && !res.CheckedAt.After(highDone) {
			meanwhile++
		}
	}
	share := float64(meanwhile) / float64(meanwhile+high)
	t.Logf("high marks checked %v after sending; %d normal checked meanwhile (share %.2f); backlog drained %v later",
		highDone.Sub(highSent), meanwhile, share, normalDone.Sub(highDone))
	if share < 0.15 {
		t.Fatalf("normal work got %.2f of throughput while high work waited, want at least 0.15", share)
	}
}

// TestPriorityShareUnderSustainedHighLoad: while both classes have a
// backlog, normal work gets about one record in NormalShare (default 5).
func TestPriorityShareUnderSustainedHighLoad(t *testing.T) {
	const normalN, highN = 40_000, 40_000
	r := newRig(t, 12)
	r.mark(t, "n", normalN, PriorityNormal)
	r.mark(t, "h", highN, PriorityHigh)
	r.startWorker(t, "w1", func(o *Options) { o.SimLatency = time.Millisecond }, StageCheck)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	results := r.results(t, ctx)
	var all []Result
	for len(all) < normalN+highN {
		res, ok := <-results
		if !ok {
			t.Fatalf("results ended after %d", len(all))
		}
		all = append(all, res)
	}
	var highFirst, highLast time.Time
	for _, res := range all {
		if res.Priority != PriorityHigh {
			continue
		}
		if highFirst.IsZero() || res.CheckedAt.Before(highFirst) {
			highFirst = res.CheckedAt
		}
		highLast = maxTime(highLast, res.CheckedAt)
	}
	normal := 0
	for _, res := range all {
		if res.Priority == PriorityNormal && !res.CheckedAt.Before(highFirst) && !res.CheckedAt.After(highLast) {
			normal++
		}
	}
	share := float64(normal) / float64(normal+highN)
	t.Logf("while %d high marks were checked (%v), %d normal were: share %.2f", highN, highLast.Sub(highFirst), normal, share)
	if share < 0.15 || share > 0.5 {
		t.Fatalf("normal share %.2f while both classes waited, want about 0.2 (at least 0.15)", share)
	}
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// TestGarbageMarkIsDeadLettered: a record on an input topic that is not a
// mark lands in the check stage's dead letters with its bytes, and its
// bucket moves on.
func TestGarbageMarkIsDeadLettered(t *testing.T) {
	r := newRig(t, 12)
	garbage := &kgo.Record{Topic: TopicChecks, Key: []byte("u000000"), Value: []byte("not avro")}
	if err := r.Client.ProduceSync(context.Background(), garbage).FirstErr(); err != nil {
		t.Fatal(err)
	}
	r.mark(t, "u", 1, PriorityNormal) // same key, so same partition, after the garbage
	r.startWorker(t, "w1", nil, StageCheck)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if res := <-r.results(t, ctx); res.UserID != "u000000" || res.Status != ResultChecked {
		t.Fatalf("result %+v: the bucket did not move on past the garbage", res)
	}
	dead := r.Read(t, New().DeadTopic(StageCheck), 1)
	if string(dead[0].Value) != "not avro" || string(dead[0].Key) != "u000000" {
		t.Fatalf("dead letters %v, want the garbage record", dead)
	}
}
