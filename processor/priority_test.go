package processor

import (
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

func twoTopics(share int) *priority {
	p := newPriority([]string{"high", "normal"}, share)
	p.assign(map[string][]int32{"high": {0, 1}, "normal": {0, 1}})
	return p
}

func TestPriorityServesAllWithoutHighBacklog(t *testing.T) {
	p := twoTopics(5)
	p.ends(map[string]map[int32]int64{"normal": {0: 100}})
	pause, resume := p.next()
	if len(pause) != 0 || !slices.Equal(resume, []string{"high", "normal"}) {
		t.Fatalf("pause=%v resume=%v, want nothing paused", pause, resume)
	}
}

func TestPriorityGivesNormalOneBatchInShare(t *testing.T) {
	p := twoTopics(5)
	p.ends(map[string]map[int32]int64{"high": {1: 10}, "normal": {0: 100}})
	var highTurns, normalTurns int
	for range 50 {
		pause, _ := p.next()
		switch {
		case slices.Equal(pause, []string{"normal"}):
			highTurns++
		case slices.Equal(pause, []string{"high"}):
			normalTurns++
		default:
			t.Fatalf("pause=%v while both have a backlog", pause)
		}
	}
	if normalTurns != 10 || highTurns != 40 {
		t.Fatalf("high %d, normal %d turns of 50; want 40 and 10", highTurns, normalTurns)
	}
}

func TestPriorityBacklogEndsAtPosition(t *testing.T) {
	p := twoTopics(5)
	p.ends(map[string]map[int32]int64{"high": {1: 10}, "normal": {0: 100}})
	p.positions(map[string]map[int32]kgo.EpochOffset{"high": {1: {Offset: 10}}})
	if pause, _ := p.next(); len(pause) != 0 {
		t.Fatalf("high is caught up but normal is paused: %v", pause)
	}
}

func TestPriorityDrainedSkipsMarkers(t *testing.T) {
	p := twoTopics(5)
	p.ends(map[string]map[int32]int64{"high": {1: 10}, "normal": {0: 100}})
	p.drained([]string{"high"})
	if pause, _ := p.next(); len(pause) != 0 {
		t.Fatalf("drained high still pauses normal: %v", pause)
	}
	p.ends(map[string]map[int32]int64{"high": {1: 11}})
	if pause, _ := p.next(); !slices.Equal(pause, []string{"normal"}) {
		t.Fatalf("a new high record after the drain does not pause normal: %v", pause)
	}
}

func TestPriorityIgnoresPartitionsNotOwned(t *testing.T) {
	p := twoTopics(5)
	p.ends(map[string]map[int32]int64{"high": {7: 10}, "normal": {0: 100}})
	p.forget(map[string][]int32{"normal": {0}})
	p.ends(map[string]map[int32]int64{"normal": {0: 200}})
	if pause, _ := p.next(); len(pause) != 0 {
		t.Fatalf("partitions not owned count: paused %v", pause)
	}
}

// TestUnreachedNewBuckets: of the newly assigned partitions, those a poll
// brought nothing of and that have work stay first for the next poll;
// reached, idle and no longer owned ones do not.
func TestUnreachedNewBuckets(t *testing.T) {
	p := twoTopics(5)
	p.ends(map[string]map[int32]int64{"normal": {0: 100, 1: 100}, "high": {0: 0, 1: 50}})
	p.positions(map[string]map[int32]kgo.EpochOffset{"high": {1: {Offset: 50}}}) // high/1 done
	fresh := map[string][]int32{"normal": {0, 1, 7}, "high": {0, 1}}             // normal/7 not owned
	fs := kgo.Fetches{{Topics: []kgo.FetchTopic{{Topic: "normal", Partitions: []kgo.FetchPartition{
		{Partition: 0, Records: []*kgo.Record{{Topic: "normal", Partition: 0, Offset: 0}}},
	}}}}}
	p.observe(fs)
	got := p.unreached(fresh, fs)
	if len(got) != 1 || !slices.Equal(got["normal"], []int32{1}) {
		t.Fatalf("unreached %v, want normal/1 only", got)
	}
}
