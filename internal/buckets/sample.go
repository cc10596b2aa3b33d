package buckets

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// snapshot is what one sample read: per stage, its members and the state
// of each bucket.
type snapshot struct {
	at     time.Time
	stages []stageState
}

type stageState struct {
	Stage
	members []string
	buckets []bucketState
}

type bucketState struct {
	tp
	owner string
	// end is the last stable offset: where a read_committed reader stops.
	end int64
	// position is the group's committed offset, or the start offset
	// before any commit; never below the start (retention may have
	// deleted what the group did not read).
	position int64
	// waiting is the first record at or after position and before end;
	// nil when none is.
	waiting *waitingRecord
}

type tp struct {
	topic     string
	partition int32
}

type waitingRecord struct {
	offset int64
	at     time.Time
}

// read takes a sample: ends and starts of every input, the groups'
// members, assignments and commits, then the oldest waiting record of
// every bucket that has offsets left.
func (in *Inspector) read(ctx context.Context) (*snapshot, error) {
	at := in.now()
	ends, err := in.adm.ListCommittedOffsets(ctx, in.topics...)
	if err != nil {
		return nil, fmt.Errorf("end offsets: %w", err)
	}
	starts, err := in.adm.ListStartOffsets(ctx, in.topics...)
	if err != nil {
		return nil, fmt.Errorf("start offsets: %w", err)
	}
	described, err := in.adm.DescribeGroups(ctx, in.groups...)
	if err != nil {
		return nil, fmt.Errorf("describe groups: %w", err)
	}
	commits := in.adm.FetchManyOffsets(ctx, in.groups...)
	snap := &snapshot{at: at}
	for _, st := range in.cfg.Stages {
		s, err := stageOf(st, ends, starts, described[st.Group], commits[st.Group])
		if err != nil {
			return nil, fmt.Errorf("stage %s/%s: %w", st.Pipeline, st.Name, err)
		}
		if err := in.findWaiting(ctx, s.buckets); err != nil {
			return nil, fmt.Errorf("stage %s/%s: oldest waiting records: %w", st.Pipeline, st.Name, err)
		}
		snap.stages = append(snap.stages, s)
	}
	return snap, nil
}

// stageOf joins what Kafka answered into one stage's state, before its
// waiting records are read.
func stageOf(st Stage, ends, starts kadm.ListedOffsets, g kadm.DescribedGroup, commits kadm.FetchOffsetsResponse) (stageState, error) {
	s := stageState{Stage: st, members: []string{}}
	if g.Err != nil && !errors.Is(g.Err, kerr.GroupIDNotFound) {
		return s, fmt.Errorf("group %s: %w", st.Group, g.Err)
	}
	if commits.Err != nil && !errors.Is(commits.Err, kerr.GroupIDNotFound) {
		return s, fmt.Errorf("group %s: committed offsets: %w", st.Group, commits.Err)
	}
	owners := make(map[tp]string)
	for _, m := range g.Members {
		name := memberName(m)
		s.members = append(s.members, name)
		if a, ok := m.Assigned.AsConsumer(); ok {
			for _, t := range a.Topics {
				for _, p := range t.Partitions {
					owners[tp{t.Topic, p}] = name
				}
			}
		}
	}
	slices.Sort(s.members)
	for _, topic := range st.Topics {
		parts := ends[topic]
		ids := make([]int32, 0, len(parts))
		for p, o := range parts {
			if errors.Is(o.Err, kerr.UnknownTopicOrPartition) {
				continue // not created yet: no buckets
			}
			if o.Err != nil {
				return s, fmt.Errorf("%s/%d: end offset: %w", topic, p, o.Err)
			}
			ids = append(ids, p)
		}
		slices.Sort(ids)
		for _, p := range ids {
			start, ok := starts.Lookup(topic, p)
			if !ok || start.Err != nil {
				return s, fmt.Errorf("%s/%d: no start offset: %v", topic, p, start.Err)
			}
			pos := start.Offset
			if c, ok := commits.Fetched.Lookup(topic, p); ok {
				if c.Err != nil {
					return s, fmt.Errorf("%s/%d: committed offset: %w", topic, p, c.Err)
				}
				pos = max(pos, c.At)
			}
			k := tp{topic, p}
			s.buckets = append(s.buckets, bucketState{tp: k, owner: owners[k], end: parts[p].Offset, position: pos})
		}
	}
	return s, nil
}

// memberName names a member by its instance id, which workers set and
// keep across restarts; a member without one by its member id, which
// Kafka builds from the client id.
func memberName(m kadm.DescribedGroupMember) string {
	if m.InstanceID != nil && *m.InstanceID != "" {
		return *m.InstanceID
	}
	return m.MemberID
}

// findWaiting fills in the waiting record of every bucket with offsets
// left between its position and its end.
func (in *Inspector) findWaiting(ctx context.Context, buckets []bucketState) error {
	from := make(map[tp]span)
	for _, b := range buckets {
		if b.position < b.end {
			from[b.tp] = span{b.position, b.end}
		}
	}
	if len(from) == 0 {
		return nil
	}
	found, err := firstRecords(ctx, in.deps.Kafka, from)
	if err != nil {
		return err
	}
	for i := range buckets {
		buckets[i].waiting = found[buckets[i].tp]
	}
	return nil
}
