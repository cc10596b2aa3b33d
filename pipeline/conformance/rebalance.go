package conformance

import (
	"testing"
	"time"
)

// checkRebalance: a second worker joins while the first is busy, then
// the first leaves gracefully; the buckets move twice, each item still
// comes out exactly once and in its key's order.
func checkRebalance(t *testing.T, s Subject) {
	c := newCluster(t, s)
	f := newFaults(faultSpec{Seed: 3, Percent: faultPercent})
	it := c.newItems("rebalance", keys)
	c.feed(t, it, it.keys, perKey)
	n := total(it.want())

	w1 := c.startLocal(t, "w1", f)
	if !c.awaitOutputs(t, n/4, outputsTimeout) {
		t.FailNow()
	}
	w2 := c.startLocal(t, "w2", f)
	c.board.MustAwait(t, 4*sessionTimeout, "w2 owning buckets of every stage", func() bool { return c.ownsEveryStage(w2.log) })
	joined := c.outputs()
	if joined >= n {
		t.Fatalf("all %d outputs arrived before w2 had joined: the run was too short to test a rebalance", n)
	}
	stopAt := time.Now()
	w1.stop(t)
	left := c.outputs()
	c.board.MustAwait(t, 4*sessionTimeout, "w2 owning every bucket", func() bool { return c.ownsAll(w2.log) })
	t.Logf("w2 joined after %d of %d outputs; w1 left after %d, and w2 owned every bucket %v after w1 began to stop",
		joined, n, left, time.Since(stopAt).Round(time.Millisecond))
	if left >= n {
		t.Errorf("all %d outputs arrived before w1 left: the run was too short to test a graceful leave", n)
	}
	c.finish(t, it)
	verify(t, s, it)
}
