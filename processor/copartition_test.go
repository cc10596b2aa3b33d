package processor

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// holdings follows, from the members' assigned, revoked and lost callbacks,
// which partitions each member holds, and fails the test the moment a
// member is given partition p of any topic while another member still
// holds partition p of some topic (of the same topic, if partitionWise).
type holdings struct {
	t             *testing.T
	topics        []string
	partitionWise bool
	mu            sync.Mutex
	held          map[string]map[string][]int32 // member => topic => partitions
	changed       chan struct{}                 // closed, and replaced, on every change
}

func newHoldings(t *testing.T, topics []string) *holdings {
	return &holdings{t: t, topics: topics, held: make(map[string]map[string][]int32), changed: make(chan struct{})}
}

// opts returns the callbacks through which member reports what it holds.
func (h *holdings) opts(member string) []kgo.Opt {
	return []kgo.Opt{
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { h.assign(member, m) }),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { h.release(member, m) }),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { h.release(member, m) }),
	}
}

func (h *holdings) assign(member string, parts map[string][]int32) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.held[member] == nil {
		h.held[member] = make(map[string][]int32)
	}
	for topic, ps := range parts {
		for _, p := range ps {
			for other, assigned := range h.held {
				for _, t := range h.topics {
					if other != member && slices.Contains(assigned[t], p) && (t == topic || !h.partitionWise) {
						h.t.Errorf("%s got %s/%d while %s holds %s/%d", member, topic, p, other, t, p)
					}
				}
			}
			h.held[member][topic] = append(h.held[member][topic], p)
		}
	}
	h.notify()
}

func (h *holdings) release(member string, parts map[string][]int32) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for topic, ps := range parts {
		h.held[member][topic] = slices.DeleteFunc(h.held[member][topic], func(p int32) bool { return slices.Contains(ps, p) })
	}
	h.notify()
}

func (h *holdings) notify() {
	close(h.changed)
	h.changed = make(chan struct{})
}

// of returns what member holds, partitions sorted.
func (h *holdings) of(member string) map[string][]int32 {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string][]int32)
	for topic, ps := range h.held[member] {
		if len(ps) > 0 {
			out[topic] = slices.Sorted(slices.Values(ps))
		}
	}
	return out
}

// awaitBuckets waits until exactly members hold partitions, in whole
// buckets spread evenly (see bucketsSettled).
func (h *holdings) awaitBuckets(t *testing.T, counts map[string]int32, members ...string) {
	t.Helper()
	h.await(t, members, func(current map[string]map[string][]int32) error {
		return bucketsSettled(current, h.topics, counts)
	})
}

// awaitPartitions waits until exactly members hold partitions and every
// partition of counts is held (assign fails the test if one is held
// twice).
func (h *holdings) awaitPartitions(t *testing.T, counts map[string]int32, members ...string) {
	t.Helper()
	h.await(t, members, func(current map[string]map[string][]int32) error {
		for topic, n := range counts {
			held := make(map[int32]bool)
			for _, assigned := range current {
				for _, p := range assigned[topic] {
					held[p] = true
				}
			}
			if len(held) != int(n) {
				return fmt.Errorf("%d of %s's %d partitions held", len(held), topic, n)
			}
		}
		return nil
	})
}

// await waits until exactly members hold partitions and check accepts
// what they hold.
func (h *holdings) await(t *testing.T, members []string, check func(map[string]map[string][]int32) error) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		h.mu.Lock()
		current, err := h.current(members)
		if err == nil {
			err = check(current)
		}
		changed := h.changed
		h.mu.Unlock()
		if err == nil {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("group not settled on %v within 15s: %v", members, err)
		}
	}
}

// current returns what members hold, failing if anyone else holds
// anything or one of them nothing.
func (h *holdings) current(members []string) (map[string]map[string][]int32, error) {
	current := make(map[string]map[string][]int32)
	for member, assigned := range h.held {
		for topic, ps := range assigned {
			if len(ps) == 0 {
				continue
			}
			if !slices.Contains(members, member) {
				return nil, fmt.Errorf("%s still holds %s %v", member, topic, ps)
			}
			if current[member] == nil {
				current[member] = make(map[string][]int32)
			}
			current[member][topic] = ps
		}
	}
	if len(current) != len(members) {
		return nil, fmt.Errorf("%d of %d members hold partitions", len(current), len(members))
	}
	return current, nil
}

// copartitionRig is a kfake cluster whose members consume topics in one
// group with the co-partitioned balancer. The cluster also has a topic
// outside them, unrelated, with one partition.
type copartitionRig struct {
	addrs  []string
	topics []string
	counts map[string]int32
	held   *holdings
}

func newCopartitionRig(t *testing.T, counts map[string]int32) *copartitionRig {
	t.Helper()
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.GroupMinSessionTimeout(time.Second), kfake.SeedTopics(1, "unrelated")}
	for topic, n := range counts {
		opts = append(opts, kfake.SeedTopics(n, topic))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	topics := slices.Sorted(maps.Keys(counts))
	return &copartitionRig{addrs: c.ListenAddrs(), topics: topics, counts: counts, held: newHoldings(t, topics)}
}

// member starts a group member reported as name; it leaves when closed or
// when the test ends.
func (r *copartitionRig) member(t *testing.T, name string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	opts = append([]kgo.Opt{
		kgo.SeedBrokers(r.addrs...),
		kgo.ConsumerGroup("copartitioned"),
		kgo.ConsumeTopics(r.topics...),
		kgo.Balancers(copartitioned(r.topics)),
		// Members leave by closing, never by timing out: a session
		// short enough to expire while a loaded machine starves a
		// member's heartbeats would hand its partitions on while it
		// still holds them, which is what holdings fails on.
		kgo.SessionTimeout(10 * time.Second),
		kgo.HeartbeatInterval(100 * time.Millisecond),
	}, opts...)
	cl, err := kgo.NewClient(append(opts, r.held.opts(name)...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func TestCopartitionSpreadsWholeBuckets(t *testing.T) {
	r := newCopartitionRig(t, map[string]int32{"checks.high": 6, "checks": 6, "checks.retry": 6})
	for _, m := range []string{"m1", "m2", "m3"} {
		r.member(t, m)
	}
	r.held.awaitBuckets(t, r.counts, "m1", "m2", "m3")
}

// The broker must see the real topics in the members' subscriptions: it
// keeps a live group's offsets only for subscribed topics (KIP-496).
func TestCopartitionBrokerSeesRealTopics(t *testing.T) {
	r := newCopartitionRig(t, map[string]int32{"checks.high": 6, "checks": 6})
	for _, m := range []string{"m1", "m2"} {
		r.member(t, m)
	}
	r.held.awaitBuckets(t, r.counts, "m1", "m2")

	cl, err := kgo.NewClient(kgo.SeedBrokers(r.addrs...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	groups, err := kadm.NewClient(cl).DescribeGroups(context.Background(), "copartitioned")
	if err != nil {
		t.Fatal(err)
	}
	g := groups["copartitioned"]
	if g.Err != nil || g.Protocol != copartitionProtocol {
		t.Fatalf("group described with protocol %q, error %v", g.Protocol, g.Err)
	}
	for _, m := range g.Members {
		join, ok := m.Join.AsConsumer()
		if !ok {
			t.Fatalf("member %s joined with metadata that is not the consumer protocol's", m.MemberID)
		}
		if !slices.Equal(join.Topics, r.topics) {
			t.Errorf("member %s subscribes to %v, want %v", m.MemberID, join.Topics, r.topics)
		}
		for _, o := range join.OwnedPartitions {
			if _, ok := r.counts[o.Topic]; !ok {
				t.Errorf("member %s claims %s %v", m.MemberID, o.Topic, o.Partitions)
			}
		}
	}
	assigned := g.AssignedPartitions()
	for topic, n := range r.counts {
		if got := len(assigned[topic]); got != int(n) {
			t.Errorf("broker shows %d of %s's %d partitions assigned: %v", got, topic, n, assigned)
		}
	}
}

func TestCopartitionLeavingMemberHandsOverWholeBuckets(t *testing.T) {
	r := newCopartitionRig(t, map[string]int32{"checks.high": 6, "checks": 6})
	m1 := r.member(t, "m1")
	r.member(t, "m2")
	r.member(t, "m3")
	r.held.awaitBuckets(t, r.counts, "m1", "m2", "m3")
	m2, m3 := r.held.of("m2"), r.held.of("m3")

	m1.Close()
	r.held.awaitBuckets(t, r.counts, "m2", "m3")
	for name, before := range map[string]map[string][]int32{"m2": m2, "m3": m3} {
		after := r.held.of(name)
		for _, topic := range r.topics {
			if !isSubset(before[topic], after[topic]) {
				t.Errorf("%s held %s %v, now %v: it should only have gained", name, topic, before[topic], after[topic])
			}
		}
	}
}

func TestCopartitionStaticMemberGetsItsBucketsBack(t *testing.T) {
	r := newCopartitionRig(t, map[string]int32{"checks.high": 6, "checks": 6})
	static := func(name, id string) *kgo.Client {
		// A session long enough that the restart below, which takes
		// milliseconds, comes back before the group gives m1 up.
		return r.member(t, name, kgo.InstanceID(id), kgo.SessionTimeout(10*time.Second))
	}
	m1 := static("m1", "worker-1")
	static("m2", "worker-2")
	static("m3", "worker-3")
	r.held.awaitBuckets(t, r.counts, "m1", "m2", "m3")
	before := r.held.of("m1")

	m1.Close() // a static member does not leave the group on close
	if held := r.held.of("m1"); len(held) > 0 {
		t.Fatalf("m1 closed still holding %v", held)
	}
	static("m1 restarted", "worker-1")
	r.held.awaitBuckets(t, r.counts, "m1 restarted", "m2", "m3")
	if after := r.held.of("m1 restarted"); !equalHoldings(map[string]map[string][]int32{"m1": before}, map[string]map[string][]int32{"m1": after}) {
		t.Errorf("worker-1 held %v before the restart and %v after", before, after)
	}
}

func TestCopartitionUnequalPartitionCounts(t *testing.T) {
	r := newCopartitionRig(t, map[string]int32{"wide": 6, "narrow": 4})
	for _, m := range []string{"m1", "m2", "m3"} {
		r.member(t, m)
	}
	// bucketsSettled requires that whoever holds bucket 4 or 5 holds
	// wide/4 or wide/5, and that nobody holds narrow/4 or narrow/5, since
	// only existing partitions count.
	r.held.awaitBuckets(t, r.counts, "m1", "m2", "m3")
	for _, m := range []string{"m1", "m2", "m3"} {
		if ps := r.held.of(m)["narrow"]; len(ps) > 0 && ps[len(ps)-1] >= 4 {
			t.Errorf("%s holds narrow %v; narrow has 4 partitions", m, ps)
		}
	}
}

// A stage that used cooperative-sticky rolls to the co-partitioned balancer
// by offering both; once every member offers it, the group switches. Here
// cooperative-sticky leaves every bucket split: a member that at first
// consumes only checks takes all of it, the other member all of
// checks.high. After the switch the buckets come together, and no
// partition ever has two holders on the way.
func TestCopartitionRollingSwitchFromCooperativeSticky(t *testing.T) {
	r := newCopartitionRig(t, map[string]int32{"checks.high": 6, "checks": 6})
	r.held.partitionWise = true // the buckets start split
	old := r.member(t, "old", kgo.ConsumeTopics("unrelated"), kgo.Balancers(kgo.CooperativeStickyBalancer()))
	both := kgo.Balancers(copartitioned(r.topics), kgo.CooperativeStickyBalancer())
	r.member(t, "n1", both)
	n2 := r.member(t, "n2", both, kgo.ConsumeTopics("checks"))
	r.held.awaitPartitions(t, r.counts, "old", "n1", "n2")
	if n1, n2 := r.held.of("n1"), r.held.of("n2"); len(n1["checks.high"]) != 6 || len(n2["checks"]) != 6 {
		t.Fatalf("cooperative-sticky gave n1 %v and n2 %v, want checks.high and checks whole", n1, n2)
	}

	n2.AddConsumeTopics("checks.high")
	old.Close() // now every member offers the co-partitioned balancer
	r.held.awaitBuckets(t, r.counts, "n1", "n2")
}
