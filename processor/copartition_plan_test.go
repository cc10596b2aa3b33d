package processor

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The plan tests run the balancer as a leader would, without Kafka: each
// member's join metadata comes from JoinGroupMetadata, the plan from
// MemberBalancer and BalanceOrError, each assignment from
// ParseSyncAssignment.

// groupState is what each member consumes and holds before a rebalance.
type groupState struct {
	interests map[string][]string           // member => topics it consumes
	held      map[string]map[string][]int32 // member => topic => partitions
}

// balanceOnce balances s as the leader of generation gen would and returns
// each member's assignment.
func balanceOnce(t *testing.T, b kgo.GroupBalancer, s groupState, counts map[string]int32, gen int32) map[string]map[string][]int32 {
	t.Helper()
	var members []kmsg.JoinGroupResponseMember
	for _, id := range slices.Sorted(maps.Keys(s.interests)) {
		m := kmsg.NewJoinGroupResponseMember()
		m.MemberID = id
		m.ProtocolMetadata = b.JoinGroupMetadata(slices.Sorted(slices.Values(s.interests[id])), s.held[id], gen)
		members = append(members, m)
	}
	mb, topics, err := b.MemberBalancer(members)
	if err != nil {
		t.Fatal(err)
	}
	for topic := range topics {
		if _, ok := counts[topic]; !ok {
			t.Fatalf("balancer asks for the partitions of %q, which is no topic", topic)
		}
	}
	into, err := mb.(kgo.GroupMemberBalancerOrError).BalanceOrError(counts)
	if err != nil {
		t.Fatal(err)
	}
	plan := make(map[string]map[string][]int32)
	for _, a := range into.IntoSyncAssignment() {
		assigned, err := b.ParseSyncAssignment(a.MemberAssignment)
		if err != nil {
			t.Fatal(err)
		}
		plan[a.MemberID] = assigned
	}
	return plan
}

// converge rebalances s until the plan no longer changes, as members that
// lost partitions revoke them and rejoin, and returns what each member
// holds then. Each plan must leave every partition with at most one
// holder at every step: a member gets a partition only once whoever held
// it has given it up.
func converge(t *testing.T, b kgo.GroupBalancer, s groupState, counts map[string]int32) map[string]map[string][]int32 {
	t.Helper()
	for gen := int32(1); gen <= 5; gen++ {
		plan := balanceOnce(t, b, s, counts, gen)
		for member, assigned := range plan {
			for topic, ps := range assigned {
				for _, p := range ps {
					for other, held := range s.held {
						if other != member && slices.Contains(held[topic], p) {
							t.Fatalf("generation %d: %s/%d planned for %s while %s still holds it", gen, topic, p, member, other)
						}
					}
				}
			}
		}
		if equalHoldings(plan, s.held) {
			return plan
		}
		s.held = plan
	}
	t.Fatalf("no stable plan after 5 rebalances; last %v", s.held)
	return nil
}

func isSubset(sub, of []int32) bool {
	for _, p := range sub {
		if !slices.Contains(of, p) {
			return false
		}
	}
	return true
}

func equalHoldings(a, b map[string]map[string][]int32) bool {
	norm := func(m map[string]map[string][]int32) string {
		var s string
		for _, member := range slices.Sorted(maps.Keys(m)) {
			for _, topic := range slices.Sorted(maps.Keys(m[member])) {
				if ps := m[member][topic]; len(ps) > 0 {
					s += fmt.Sprintf("%s %s %v;", member, topic, slices.Sorted(slices.Values(ps)))
				}
			}
		}
		return s
	}
	return norm(a) == norm(b)
}

// checkBuckets fails t unless every member holds partition p of every
// co-partitioned topic that has it, for each bucket p it holds, and the
// buckets 0 to the largest count are spread over the members, each on one
// member, no member holding two more than another.
func checkBuckets(t *testing.T, held map[string]map[string][]int32, topics []string, counts map[string]int32) {
	t.Helper()
	if err := bucketsSettled(held, topics, counts); err != nil {
		t.Fatalf("%v; holdings %v", err, held)
	}
}

// bucketsSettled is checkBuckets' test, returning why it fails.
func bucketsSettled(held map[string]map[string][]int32, topics []string, counts map[string]int32) error {
	var nbuckets int32
	for _, topic := range topics {
		nbuckets = max(nbuckets, counts[topic])
	}
	owner := make(map[int32]string)
	least, most := int(nbuckets)+1, -1
	for member, assigned := range held {
		buckets := map[int32]bool{}
		for _, topic := range topics {
			for _, p := range assigned[topic] {
				buckets[p] = true
			}
		}
		for p := range buckets {
			if other, ok := owner[p]; ok {
				return fmt.Errorf("bucket %d held by %s and %s", p, other, member)
			}
			owner[p] = member
			for _, topic := range topics {
				if p < counts[topic] && !slices.Contains(assigned[topic], p) {
					return fmt.Errorf("%s holds bucket %d but not %s/%d", member, p, topic, p)
				}
			}
		}
		least, most = min(least, len(buckets)), max(most, len(buckets))
	}
	if int32(len(owner)) != nbuckets {
		return fmt.Errorf("%d of %d buckets held", len(owner), nbuckets)
	}
	if most-least > 1 {
		return fmt.Errorf("uneven: a member holds %d buckets, another %d", most, least)
	}
	return nil
}

func TestCopartitionPlan(t *testing.T) {
	ab := []string{"a", "b"}
	members := func(topics []string, ids ...string) map[string][]string {
		m := make(map[string][]string)
		for _, id := range ids {
			m[id] = topics
		}
		return m
	}

	t.Run("a new group gets whole buckets", func(t *testing.T) {
		counts := map[string]int32{"a": 6, "b": 6}
		held := converge(t, copartitioned(ab), groupState{interests: members(ab, "m1", "m2", "m3")}, counts)
		checkBuckets(t, held, ab, counts)
	})

	t.Run("a joining member takes whole buckets once they are given up", func(t *testing.T) {
		counts := map[string]int32{"a": 6, "b": 6}
		s := groupState{
			interests: members(ab, "m1", "m2", "m3"),
			held: map[string]map[string][]int32{
				"m1": {"a": {0, 1, 2}, "b": {0, 1, 2}},
				"m2": {"a": {3, 4, 5}, "b": {3, 4, 5}},
			},
		}
		held := converge(t, copartitioned(ab), s, counts)
		checkBuckets(t, held, ab, counts)
		for member, had := range s.held {
			if kept := held[member]["a"]; len(kept) != 2 || !isSubset(kept, had["a"]) {
				t.Errorf("%s held buckets %v and now holds %v, want two of them", member, had["a"], kept)
			}
		}
	})

	// A group that switches from cooperative-sticky holds partition p of
	// one topic on one member and of another topic on another.
	t.Run("a group from cooperative-sticky converges without double owners", func(t *testing.T) {
		counts := map[string]int32{"a": 6, "b": 6}
		s := groupState{
			interests: members(ab, "m1", "m2", "m3"),
			held: map[string]map[string][]int32{
				"m1": {"a": {0, 1, 2, 3}},
				"m2": {"a": {4, 5}, "b": {0, 1}},
				"m3": {"b": {2, 3, 4, 5}},
			},
		}
		held := converge(t, copartitioned(ab), s, counts)
		checkBuckets(t, held, ab, counts)
	})

	t.Run("a smaller topic has no partitions in the higher buckets", func(t *testing.T) {
		counts := map[string]int32{"a": 6, "b": 4}
		held := converge(t, copartitioned(ab), groupState{interests: members(ab, "m1", "m2", "m3")}, counts)
		checkBuckets(t, held, ab, counts)
		for member, assigned := range held {
			for _, p := range assigned["b"] {
				if p >= 4 {
					t.Errorf("%s got b/%d, which does not exist", member, p)
				}
			}
		}
	})

	t.Run("other topics are balanced on their own", func(t *testing.T) {
		counts := map[string]int32{"a": 6, "b": 6, "solo": 3}
		topics := []string{"a", "b", "solo"}
		held := converge(t, copartitioned(ab), groupState{interests: members(topics, "m1", "m2", "m3")}, counts)
		checkBuckets(t, held, ab, counts)
		var solo []int32
		for _, assigned := range held {
			solo = append(solo, assigned["solo"]...)
		}
		if slices.Sort(solo); !slices.Equal(solo, []int32{0, 1, 2}) {
			t.Errorf("solo's partitions assigned %v, want each once", solo)
		}
	})

	t.Run("a member gets only the topics it consumes", func(t *testing.T) {
		counts := map[string]int32{"a": 6, "b": 6}
		s := groupState{interests: map[string][]string{"m1": ab, "m2": ab, "old": {"a"}}}
		held := converge(t, copartitioned(ab), s, counts)
		if ps := held["old"]["b"]; len(ps) > 0 {
			t.Errorf("old consumes only a but got b %v", ps)
		}
		if len(held["old"]["a"]) == 0 {
			t.Errorf("old got no buckets: %v", held)
		}
	})
}
