package conformance

import "testing"

// checkExactlyOnce: two workers in this process take every item through
// every stage while a share of the tries fail in each stage with
// retries; each item comes out exactly once, each key's in order.
func checkExactlyOnce(t *testing.T, s Subject) {
	c := newCluster(t, s)
	f := newFaults(faultSpec{Seed: 1, Percent: faultPercent})
	it := c.newItems("once", keys)
	c.feed(t, it, it.keys, perKey)
	c.startLocal(t, "w1", f)
	c.startLocal(t, "w2", f)
	c.finish(t, it)
	c.requireInjected(t, f)
	verify(t, s, it)
}
