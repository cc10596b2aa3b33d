package conformance

import (
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"
)

// checkKilledWorker: two worker processes; one is killed with SIGKILL
// mid-run (its open transactions never commit) and restarted with the
// same instance id, which gets its buckets back; each item still comes
// out exactly once and in its key's order.
func checkKilledWorker(t *testing.T, s Subject) {
	c := newCluster(t, s)
	c.session = restartSessionTimeout
	spec := faultSpec{Seed: 4, Percent: faultPercent}
	it := c.newItems("kill", keys)
	c.feed(t, it, it.keys, perKey)
	n := total(it.want())

	w1 := c.startProcess(t, "w1", spec)
	victim := c.startProcess(t, "w2", spec)
	c.awaitRunning(t, 60*time.Second, "w2 owning buckets of every stage, and a quarter of the outputs", func() bool {
		return c.ownsEveryStage(victim.log) && c.outputs() >= n/4
	}, w1, victim)
	before := victim.log.owned(0)
	victim.kill(t)
	killAt := time.Now()
	if got := c.outputs(); got >= n {
		t.Fatalf("all %d outputs arrived before w2 was killed: the run was too short to test a crash", n)
	} else {
		t.Logf("killed w2 after %d of %d outputs", got, n)
	}

	back := c.startProcess(t, "w2", spec)
	c.awaitRunning(t, c.session, "the restarted w2 owning buckets in every stage", func() bool {
		return c.ownsEveryStage(back.log)
	}, w1, back)
	t.Logf("the restarted w2 owned buckets in every stage %v after the kill", time.Since(killAt).Round(time.Millisecond))
	after := back.log.owned(0)
	for _, st := range c.d.StageNames() {
		if !maps.Equal(before[st], after[st]) {
			t.Errorf("stage %s: the restarted w2 got %v, before the kill it owned %v", st, sorted(after[st]), sorted(before[st]))
		}
	}
	c.finish(t, it)
	verify(t, s, it)
}

// awaitRunning is mustAwait that fails at once, saying so, when one of
// the processes exits.
func (c *cluster) awaitRunning(t *testing.T, timeout time.Duration, what string, cond func() bool, ps ...*process) {
	t.Helper()
	var dead *process
	c.board.MustAwait(t, timeout, what, func() bool {
		for _, p := range ps {
			if p.exited() {
				dead = p
				return true
			}
		}
		return cond()
	})
	if dead != nil {
		t.Fatalf("worker %s exited (%v) while awaiting %s; does TestMain call conformance.Child with subject %s?", dead.id, dead.state, what, c.s.Name)
	}
}

func sorted(set map[bucket]bool) []string {
	out := make([]string, 0, len(set))
	for b := range set {
		out = append(out, fmt.Sprintf("%s/%d", b.Topic, b.Partition))
	}
	slices.Sort(out)
	return out
}
