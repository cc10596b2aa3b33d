package processor

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Co-partitioned balancing
//
// A stage's input topics are keyed by the same id and have the same
// partition count, so a key's records sit in partition p of every topic.
// Partition p's state has one owner only if partition p of every topic is
// assigned to the same member: the partitions numbered p form one bucket,
// and the group balances buckets, not topic-partitions (Kafka Streams does
// the same for co-partitioned topics).
//
// copartitioned wraps franz-go's cooperative-sticky balancer and shows it
// one made-up topic, bucketTopic, whose partition p is bucket p. Stickiness
// and the cooperative two-phase hand-over (AdjustCooperative) then work in
// buckets: a bucket moves only after its old owner gave it up.
//
// Only the leader translates. What a member sends (JoinGroupMetadata) and
// receives (ParseSyncAssignment) stays the plain consumer protocol with real
// topics; the leader rewrites the members' metadata into buckets in
// MemberBalancer and the plan back into topics in BalanceOrError. Sending
// buckets on the wire would balance just as well, but the broker reads
// those bytes: it keeps a live group's committed offsets only for the
// topics its members subscribe to (KIP-496; kfake does the same), so a
// group subscribed to a made-up topic would lose the offsets of a quiet
// partition offsets.retention.minutes after its last commit, and tools
// that describe the group would show the made-up topic.

// copartitionProtocol is the balancer's name in JoinGroup. The member
// metadata is cooperative-sticky's own, but a cooperative-sticky leader
// would balance each topic on its own, so the name differs: the broker
// picks a protocol every member offers.
const copartitionProtocol = "ration-copartitioned"

// bucketTopic stands in for the co-partitioned topics inside the inner
// balancer. A Kafka topic name cannot hold a '/', so no real topic can be
// taken for it.
const bucketTopic = "ration/buckets"

// copartitioned returns a cooperative-sticky balancer that treats partition
// p of every topic in topics as one unit, a bucket, assigned to one member.
// Every member of the group must use it with the same topics. Topics a
// member consumes that are not in topics are balanced as ordinary
// topic-partitions alongside the buckets.
//
// A topic with fewer partitions than the others simply has no partition in
// the higher buckets. The leader does not balance by rack (kgo.BalanceRacks
// is ignored): kgo applies racks only to its own balancer type.
func copartitioned(topics []string) *copartitionBalancer {
	set := make(map[string]struct{}, len(topics))
	for _, t := range topics {
		set[t] = struct{}{}
	}
	return &copartitionBalancer{inner: kgo.CooperativeStickyBalancer(), topics: set}
}

type copartitionBalancer struct {
	inner  kgo.GroupBalancer
	topics map[string]struct{}
	// joining, if set, is told what the member owns each time it is
	// about to join (Stage.joining).
	joining func(owned map[string][]int32)
}

var _ kgo.GroupBalancer = (*copartitionBalancer)(nil)

func (*copartitionBalancer) ProtocolName() string { return copartitionProtocol }

// IsCooperative is true: the bucket hand-over relies on the cooperative
// rule that a member gives up what it lost and rejoins before anyone else
// gets it.
func (*copartitionBalancer) IsCooperative() bool { return true }

// JoinGroupMetadata is called by the member itself before each join, with
// what it owns: the assignment it was last given, less what it gave up.
func (c *copartitionBalancer) JoinGroupMetadata(interests []string, current map[string][]int32, generation int32) []byte {
	if c.joining != nil {
		c.joining(current)
	}
	return c.inner.JoinGroupMetadata(interests, current, generation)
}

func (c *copartitionBalancer) ParseSyncAssignment(assignment []byte) (map[string][]int32, error) {
	return c.inner.ParseSyncAssignment(assignment)
}

// MemberBalancer hands the inner balancer the members with their
// subscriptions and owned partitions in buckets, and asks kgo for the
// partition counts of the real topics: a made-up topic has none.
func (c *copartitionBalancer) MemberBalancer(members []kmsg.JoinGroupResponseMember) (kgo.GroupMemberBalancer, map[string]struct{}, error) {
	// NewConsumerBalancer parses the metadata the way the inner balancer
	// will; its balance function is never called, the real members are
	// kept for the second AdjustCooperative.
	joined, err := kgo.NewConsumerBalancer(nil, members)
	if err != nil {
		return nil, nil, fmt.Errorf("copartitioned: %w", err)
	}
	bucketed := make([]kmsg.JoinGroupResponseMember, 0, len(joined.Members()))
	interests := make(map[string][]string, len(joined.Members()))
	joined.EachMember(func(m *kmsg.JoinGroupResponseMember, meta *kmsg.ConsumerMemberMetadata) {
		bm := *m
		bm.ProtocolMetadata = c.inBuckets(*meta)
		bucketed = append(bucketed, bm)
		for _, t := range meta.Topics {
			if _, ok := c.topics[t]; ok {
				interests[m.MemberID] = append(interests[m.MemberID], t)
			}
		}
	})
	inner, _, err := c.inner.MemberBalancer(bucketed)
	if err != nil {
		return nil, nil, fmt.Errorf("copartitioned: %w", err)
	}
	mb := &copartitionMemberBalancer{inner: inner, joined: joined, topics: c.topics, interests: interests}
	return mb, joined.MemberTopics(), nil
}

// inBuckets encodes meta with its co-partitioned topics replaced by
// bucketTopic. The member holds bucket p if it holds partition p of any
// co-partitioned topic, so a bucket moves only once all of it is given up.
func (c *copartitionBalancer) inBuckets(meta kmsg.ConsumerMemberMetadata) []byte {
	var topics []string
	var subscribed bool
	for _, t := range meta.Topics {
		if _, ok := c.topics[t]; ok {
			subscribed = true
			continue
		}
		topics = append(topics, t)
	}
	if subscribed {
		topics = append(topics, bucketTopic)
		slices.Sort(topics)
	}
	meta.Topics = topics

	owned := make(map[string][]int32, len(meta.OwnedPartitions))
	for _, o := range meta.OwnedPartitions {
		owned[o.Topic] = append(owned[o.Topic], o.Partitions...)
	}
	meta.OwnedPartitions = nil
	owned = c.buckets(owned)
	for _, t := range slices.Sorted(maps.Keys(owned)) {
		o := kmsg.NewConsumerMemberMetadataOwnedPartition()
		o.Topic, o.Partitions = t, owned[t]
		meta.OwnedPartitions = append(meta.OwnedPartitions, o)
	}

	// The inner balancer reads the sticky user data in place of the owned
	// partitions when the member has no generation (it was fenced or is
	// new). User data it cannot parse counts as no history, as it would
	// for the inner balancer.
	var sticky kmsg.StickyMemberMetadata
	if err := sticky.ReadFrom(meta.UserData); err != nil {
		meta.UserData = nil
		return meta.AppendTo(nil)
	}
	current := make(map[string][]int32, len(sticky.CurrentAssignment))
	for _, a := range sticky.CurrentAssignment {
		current[a.Topic] = append(current[a.Topic], a.Partitions...)
	}
	sticky.CurrentAssignment = nil
	current = c.buckets(current)
	for _, t := range slices.Sorted(maps.Keys(current)) {
		a := kmsg.NewStickyMemberMetadataCurrentAssignment()
		a.Topic, a.Partitions = t, current[t]
		sticky.CurrentAssignment = append(sticky.CurrentAssignment, a)
	}
	meta.UserData = sticky.AppendTo(nil)
	return meta.AppendTo(nil)
}

// buckets returns assigned with the partitions of the co-partitioned
// topics merged into bucketTopic.
func (c *copartitionBalancer) buckets(assigned map[string][]int32) map[string][]int32 {
	out := make(map[string][]int32, len(assigned))
	var buckets []int32
	for t, ps := range assigned {
		if _, ok := c.topics[t]; ok {
			buckets = append(buckets, ps...)
			continue
		}
		out[t] = ps
	}
	if len(buckets) > 0 {
		slices.Sort(buckets)
		out[bucketTopic] = slices.Compact(buckets)
	}
	return out
}

// copartitionMemberBalancer balances one generation of the group.
type copartitionMemberBalancer struct {
	inner     kgo.GroupMemberBalancer
	joined    *kgo.ConsumerBalancer // the members as they joined, in topics
	topics    map[string]struct{}
	interests map[string][]string // member id => the co-partitioned topics it consumes
}

var (
	_ kgo.GroupMemberBalancerOrError = (*copartitionMemberBalancer)(nil)
	_ kgo.GroupMemberBalancerInfo    = (*copartitionMemberBalancer)(nil)
)

// Balance is never called by kgo, which prefers BalanceOrError; a failed
// balance returns nil, which kgo refuses as a plan.
func (b *copartitionMemberBalancer) Balance(counts map[string]int32) kgo.IntoSyncAssignment {
	into, err := b.BalanceOrError(counts)
	if err != nil {
		return nil
	}
	return into
}

// BalanceOrError balances buckets, bucket p existing if partition p exists
// in any co-partitioned topic, and gives each member partition p of every
// co-partitioned topic it consumes for each bucket p it got.
//
// The inner balancer already held back every bucket that changes owner
// until the old owner has given it up. That is enough while assignments
// come in whole buckets; a group coming from cooperative-sticky may
// instead have partition p of one topic on one member and of another
// topic on another. A second AdjustCooperative, over the real topics,
// holds back each partition that someone else still owns, so no partition
// is ever assigned twice while the owners converge.
func (b *copartitionMemberBalancer) BalanceOrError(counts map[string]int32) (kgo.IntoSyncAssignment, error) {
	bucketCounts := make(map[string]int32, len(counts))
	for t, n := range counts {
		if _, ok := b.topics[t]; ok {
			bucketCounts[bucketTopic] = max(bucketCounts[bucketTopic], n)
			continue
		}
		bucketCounts[t] = n
	}

	var into kgo.IntoSyncAssignment
	if oe, ok := b.inner.(kgo.GroupMemberBalancerOrError); ok {
		var err error
		if into, err = oe.BalanceOrError(bucketCounts); err != nil {
			return nil, fmt.Errorf("copartitioned: %w", err)
		}
	} else {
		into = b.inner.Balance(bucketCounts)
	}
	plan, ok := into.(*kgo.BalancePlan)
	if !ok {
		return nil, fmt.Errorf("copartitioned: the inner balancer planned a %T, not a *kgo.BalancePlan", into)
	}
	if plan == nil {
		return nil, errors.New("copartitioned: the inner balancer returned no plan")
	}

	for member, assigned := range plan.AsMemberIDMap() {
		buckets, ok := assigned[bucketTopic]
		if !ok {
			continue
		}
		delete(assigned, bucketTopic)
		for _, t := range b.interests[member] {
			for _, p := range buckets {
				if p < counts[t] {
					assigned[t] = append(assigned[t], p)
				}
			}
		}
	}
	plan.AdjustCooperative(b.joined)
	return plan, nil
}

// SetBalanceInfo passes kgo's view of the group on to the inner balancer.
// Its Topics are the real topics.
func (b *copartitionMemberBalancer) SetBalanceInfo(info kgo.BalanceInfo) {
	if ib, ok := b.inner.(kgo.GroupMemberBalancerInfo); ok {
		ib.SetBalanceInfo(info)
	}
}
