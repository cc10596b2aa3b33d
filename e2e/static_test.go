package e2e

import (
	"maps"
	"slices"
	"testing"
	"time"
)

// TestRestartedWorkerGetsItsBucketsBackWithoutARebalance (DM-4): a worker
// killed and restarted with the same --instance-id within its session
// timeout gets the same buckets back, and the other workers see no
// rebalance: none of their buckets is revoked, lost or newly assigned, and
// none of their transactions aborts. (With the cooperative-sticky balancer
// the rejoin still makes the coordinator run a round in which nothing
// moves, because the member's join metadata lists the buckets it owns,
// none after a restart; see docs/DESIGN.md.) In contrast, a graceful stop (SIGTERM, default
// --leave-on-shutdown) hands its buckets to the others at once, well
// before the session timeout.
func TestRestartedWorkerGetsItsBucketsBackWithoutARebalance(t *testing.T) {
	// Long enough for a loaded machine to start the worker again (over
	// 4 s beside the rest of make test), short enough to watch it pass.
	const sessionTimeout = 10 * time.Second
	start := time.Now()
	c := newCluster(t)
	flags := []string{"--session-timeout", sessionTimeout.String()}
	w1 := c.startWorker(t, "w1", flags...)
	w2 := c.startWorker(t, "w2", flags...)
	w3 := c.startWorker(t, "w3", flags...)
	all := 2 * int(c.partitions) // the normal and the high check topic

	c.board.MustAwait(t, 30*time.Second, "a balanced assignment of every bucket", func() bool {
		return balanced(all, w1.owned(-1), w2.owned(-1), w3.owned(-1))
	})
	before := w2.owned(-1)
	t.Logf("stable after %v; w2 owns %v", time.Since(start).Round(time.Millisecond), sortedBuckets(before))

	// Crash and restart within the session timeout.
	marks1, marks3 := w1.mark(), w3.mark()
	killAt := time.Now()
	w2.kill(t)
	w2 = c.startWorker(t, "w2", flags...)
	line, _ := w2.await(t, sessionTimeout, 0, "its buckets after the restart", func(l logLine) bool {
		return l.Msg == msgAssigned && len(l.buckets()) > 0
	})
	back := line.Time.Sub(killAt)
	t.Logf("w2 restarted; buckets back %v after the kill", back.Round(time.Millisecond))
	if back >= sessionTimeout {
		t.Fatalf("w2 got its buckets back %v after the kill, not within the session timeout %v", back, sessionTimeout)
	}
	if after := w2.owned(-1); !maps.Equal(after, before) {
		t.Errorf("restarted w2 owns %v, before the crash it owned %v", sortedBuckets(after), sortedBuckets(before))
	}

	// Watch past the moment the crashed member's session would have
	// expired: neither a rejoin nor an expiry may move any bucket.
	rebalance := msg(msgAssigned, msgRevoked, msgLost, msgAborted)
	quietUntil := killAt.Add(sessionTimeout + 2*time.Second)
	moved := c.board.Await(time.Until(quietUntil), func() bool {
		_, at1 := w1.find(marks1, rebalance)
		_, at3 := w3.find(marks3, rebalance)
		_, at2 := w2.find(0, msg(msgRevoked, msgLost))
		return at1 >= 0 || at3 >= 0 || at2 >= 0
	})
	if moved {
		for _, w := range []*worker{w1, w3} {
			from := marks1
			if w == w3 {
				from = marks3
			}
			if l, at := w.find(from, rebalance); at >= 0 {
				t.Errorf("%s saw a rebalance after w2's restart: %s", w.id, l.Raw)
			}
		}
		if l, at := w2.find(0, msg(msgRevoked, msgLost)); at >= 0 {
			t.Errorf("restarted w2 lost buckets: %s", l.Raw)
		}
	}

	// Graceful stop: the buckets move at once.
	stopAt := time.Now()
	w2.terminate(t, 10*time.Second)
	if _, at := w2.find(0, msg("stage stopped and left the group")); at < 0 {
		t.Errorf("w2 did not log leaving the group on SIGTERM")
	}
	c.board.MustAwait(t, 2*sessionTimeout, "w1 and w3 owning every bucket", func() bool {
		return balanced(all, w1.owned(-1), w3.owned(-1))
	})
	handover := time.Since(stopAt)
	t.Logf("after SIGTERM of w2, w1 and w3 own every bucket within %v", handover.Round(time.Millisecond))
	if handover > sessionTimeout/2 {
		t.Errorf("a graceful stop took %v to hand buckets over, want well under the session timeout %v (at most %v)",
			handover.Round(time.Millisecond), sessionTimeout, sessionTimeout/2)
	}
	t.Logf("total %v", time.Since(start).Round(time.Millisecond))
}

// balanced reports whether the owners together hold all buckets, none
// twice, and no owner more than one bucket above another.
func balanced(all int, owners ...map[bucket]bool) bool {
	seen := make(map[bucket]bool)
	least, most := all, 0
	for _, own := range owners {
		for b := range own {
			if seen[b] {
				return false
			}
			seen[b] = true
		}
		least, most = min(least, len(own)), max(most, len(own))
	}
	return len(seen) == all && most-least <= 1
}

func sortedBuckets(set map[bucket]bool) []bucket {
	out := slices.Collect(maps.Keys(set))
	slices.SortFunc(out, func(a, b bucket) int {
		if a.Topic != b.Topic {
			if a.Topic < b.Topic {
				return -1
			}
			return 1
		}
		return int(a.Partition - b.Partition)
	})
	return out
}
