package conformance

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/internal/kafkaread"
)

// Messages a worker logs when a rebalance or a fence ends its batch.
var fencedMsgs = []string{
	msgLost,
	"transaction aborted after a rebalance; its records will be processed again",
	"producer fenced; rejoining with a new session",
	"ending transaction failed; aborting, its records will be processed again",
	"producing outputs failed; aborting",
	"batch failed; aborting it to retry",
}

// TestConformanceStateUnderKillAndZombie: three worker processes count
// 100 000 increments over 1 000 keys in a stateful stage. Mid-run one is
// killed with SIGKILL and another stalled with SIGSTOP past its session
// timeout, so the third takes every bucket; then the stalled one resumes
// as a zombie, is fenced (its open transaction aborts) and rejoins.
//
// Then each key's outputs are 1..n without gap or repeat, so no state
// change of an aborted batch, the zombie's included, was ever seen; the
// changelog (read_committed, last value per key) holds the fold of the
// inputs, n per key; and a fresh worker with a new instance id, started
// after all others stopped, restores that state: each key's next output
// is n+1.
func TestConformanceStateUnderKillAndZombie(t *testing.T) {
	const keys, perKey = 1000, 100
	start := time.Now()
	s := counter
	s.setDefaults()
	c := newCluster(t, s)
	c.maxPoll = 0 // the runtime's default batches: 100 000 increments
	it := c.newItems("inc", keys)
	c.feed(t, it, it.keys, perKey)
	n := total(it.want())
	t.Logf("%d increments fed in %v", n, time.Since(start).Round(time.Millisecond))

	var none faultSpec
	victim, zombie, survivor := c.startProcess(t, "w1", none), c.startProcess(t, "w2", none), c.startProcess(t, "w3", none)
	all := []*process{victim, zombie, survivor}
	c.awaitRunning(t, time.Minute, "every worker owning buckets, and a fifth of the outputs", func() bool {
		return c.ownsEveryStage(victim.log) && c.ownsEveryStage(zombie.log) && c.ownsEveryStage(survivor.log) && c.outputs() >= n/5
	}, all...)
	victim.kill(t)
	stopAt := zombie.pause(t)
	if got := c.outputs(); got >= n {
		t.Fatalf("all %d outputs arrived before the kill: the run was too short to test it", n)
	} else {
		t.Logf("killed w1 and stopped w2 after %d of %d outputs, %v after the start", got, n, time.Since(start).Round(time.Millisecond))
	}

	// The survivor owns every bucket only once both sessions timed out,
	// so w2 is a zombie from then on. (A session ends a timeout after the
	// last heartbeat, which a loaded machine may have sent well before
	// the stop: the stall itself can be shorter than the timeout.)
	c.awaitRunning(t, 5*sessionTimeout, "w3 owning every bucket", func() bool { return c.ownsAll(survivor.log) }, survivor)
	took := time.Since(stopAt)
	c.awaitRunning(t, 30*time.Second, "w3 committing outputs of its own", func() bool { return c.outputs() > 0 }, survivor)
	before := c.outputs()
	c.awaitRunning(t, 30*time.Second, "w3 committing more outputs", func() bool { return c.outputs() > before }, survivor)
	resume := zombie.log.mark()
	zombie.signal(t, syscall.SIGCONT)
	t.Logf("w3 owned every bucket %v after the stall; w2 resumed after %v", took.Round(time.Millisecond), time.Since(stopAt).Round(time.Millisecond))

	var fenced logLine
	c.awaitRunning(t, 30*time.Second, "w2 fenced and rejoined with buckets", func() bool {
		var at int
		if fenced, at = zombie.log.find(resume, msg(fencedMsgs...)); at < 0 {
			return false
		}
		_, back := zombie.log.find(at+1, func(l logLine) bool { return l.Msg == msgAssigned && len(l.buckets()) > 0 })
		return back >= 0
	}, zombie, survivor)
	t.Logf("w2 after the resume: %s; then it rejoined with buckets (its messages since: %s)", fenced.Raw, strings.Join(zombie.log.msgs(resume), " | "))

	c.finish(t, it)
	checkChangelog(t, c, it)
	t.Logf("every key's count checked %v after the start", time.Since(start).Round(time.Millisecond))

	zombie.terminate(t, 30*time.Second)
	survivor.terminate(t, 30*time.Second)
	c.startProcess(t, "w4", none)
	c.feed(t, it, it.keys, 1)
	c.finish(t, it) // each key's output n+1 now
	checkChangelog(t, c, it)
	t.Logf("total %v", time.Since(start).Round(time.Millisecond))
}

// checkChangelog reads the counter's changelog read_committed, the last
// value of each key, and checks that it is the fold of the increments
// fed: each key's count, and no retry loop left behind.
func checkChangelog(t *testing.T, c *cluster, it *items) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	state := make(map[string][]byte)
	topic := c.d.ChangelogTopic(counterStage)
	err := kafkaread.ToEnd(ctx, []kgo.Opt{kgo.SeedBrokers(c.addrs...)}, map[string][]int32{topic: nil}, func(r *kgo.Record) error {
		if r.Value == nil {
			delete(state, string(r.Key))
		} else {
			state[string(r.Key)] = r.Value
		}
		return nil
	})
	if err != nil {
		t.Fatalf("read %s: %v", topic, err)
	}
	want := it.want()
	bad := 0
	for _, k := range slices.Sorted(maps.Keys(state)) {
		key, ok := strings.CutPrefix(k, "s/")
		if !ok {
			t.Errorf("changelog key %s left behind (a retry loop?)", k)
			continue
		}
		if got, n := string(state[k]), strconv.Itoa(want[key]); got != n {
			if bad++; bad <= maxProblems {
				t.Errorf("changelog: %s counts %s, want %s", key, got, n)
			}
		}
	}
	for key := range want {
		if _, ok := state["s/"+key]; !ok {
			if bad++; bad <= maxProblems {
				t.Errorf("changelog: no count of %s", key)
			}
		}
	}
	if bad > maxProblems {
		t.Errorf("... and %d more", bad-maxProblems)
	}
	if bad == 0 {
		t.Logf("changelog: the count of each of %d keys is the fold of its increments", len(want))
	}
}
