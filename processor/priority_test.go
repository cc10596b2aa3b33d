package processor

import (
	"context"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// polled is a poll that brought recs of one partition, whose end (last
// stable offset and high watermark) it reports as end.
func polled(topic string, partition int32, end int64, recs ...*kgo.Record) kgo.Fetches {
	return kgo.Fetches{{Topics: []kgo.FetchTopic{{Topic: topic, Partitions: []kgo.FetchPartition{
		{Partition: partition, HighWatermark: end, LastStableOffset: end, Records: recs},
	}}}}}
}

func twoTopics(share int) *priority {
	p := newPriority([]string{"high", "normal"}, share, true)
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

// TestUnrankedInputsAreAllFetched: without a high topic (a view's inputs)
// nothing is paused, whatever the backlogs.
func TestUnrankedInputsAreAllFetched(t *testing.T) {
	p := newPriority([]string{"a", "b"}, 5, false)
	p.assign(map[string][]int32{"a": {0}, "b": {0}})
	p.ends(map[string]map[int32]int64{"a": {0: 100}, "b": {0: 100}})
	for range 10 {
		pause, resume := p.next()
		if len(pause) != 0 || !slices.Equal(resume, []string{"a", "b"}) {
			t.Fatalf("pause=%v resume=%v, want both fetched", pause, resume)
		}
		p.observe(polled("a", 0, 100, &kgo.Record{Topic: "a", Offset: 0}))
	}
}

// TestPriorityGivesNormalOneRecordInShare: while both have a backlog,
// normal work gets one record in share even when its batches come much
// smaller than the high topic's (the fetch buffer held less of it).
func TestPriorityGivesNormalOneRecordInShare(t *testing.T) {
	p := twoTopics(5)
	p.ends(map[string]map[int32]int64{"high": {1: 1 << 40}, "normal": {0: 1 << 40}})
	pos := map[string]int64{}
	size := map[string]int{"high": 1000, "normal": 70}
	took := map[string]int{}
	for range 500 {
		pause, resume := p.next()
		if len(pause) != 1 || len(resume) != 1 {
			t.Fatalf("pause=%v resume=%v while both have a backlog", pause, resume)
		}
		topic := resume[0]
		recs := make([]*kgo.Record, size[topic])
		for i := range recs {
			recs[i] = &kgo.Record{Topic: topic, Offset: pos[topic]}
			pos[topic]++
		}
		p.observe(polled(topic, 0, 1<<40, recs...))
		took[topic] += len(recs)
	}
	share := float64(took["normal"]) / float64(took["normal"]+took["high"])
	if share < 0.19 || share > 0.21 {
		t.Fatalf("normal took %d records, high %d: share %.3f, want 0.2", took["normal"], took["high"], share)
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

// TestPriorityMarkersEndTheBacklog: a transaction's marker takes the
// last offset below the end; once a poll returned it, the backlog is gone.
func TestPriorityMarkersEndTheBacklog(t *testing.T) {
	p := twoTopics(5)
	p.ends(map[string]map[int32]int64{"high": {1: 10}, "normal": {0: 100}})
	marker := &kgo.Record{Topic: "high", Partition: 1, Offset: 9, Attrs: kgo.NewRecordAttrs(kgo.RecordAttrsOpts{Control: true})}
	p.observe(polled("high", 1, 10, &kgo.Record{Topic: "high", Partition: 1, Offset: 8}, marker))
	if pause, _ := p.next(); len(pause) != 0 {
		t.Fatalf("high is read to its marker but normal is paused: %v", pause)
	}
	p.ends(map[string]map[int32]int64{"high": {1: 11}})
	if pause, _ := p.next(); !slices.Equal(pause, []string{"normal"}) {
		t.Fatalf("a new high record after the marker does not pause normal: %v", pause)
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
	fs := polled("normal", 0, 0, &kgo.Record{Topic: "normal", Partition: 0, Offset: 0})
	p.observe(fs)
	got := p.unreached(fresh, fs)
	if len(got) != 1 || !slices.Equal(got["normal"], []int32{1}) {
		t.Fatalf("unreached %v, want normal/1 only", got)
	}
}

// TestNewBucketsOfAPausedTopicWaitForItsTurn: a worker that starts on a
// backlog of both classes takes its new buckets first only where the
// priority policy lets it fetch. Taken first while the policy paused
// their topic, with every other bucket paused too, nothing could be
// fetched and the stage stood still (the DM priority test hung).
func TestNewBucketsOfAPausedTopicWaitForItsTurn(t *testing.T) {
	addrs := newCluster(t, "high", "normal", "out")
	produceN(t, addrs, "normal", 60, 200)
	produceN(t, addrs, "high", 60, 20)
	cfg := testConfig("w1", "high", "normal")
	cfg.Priority = true
	startStage(t, addrs, cfg, HandlerFunc(func(_ context.Context, r *kgo.Record, _ State) ([]*kgo.Record, error) {
		return []*kgo.Record{{Topic: "out", Key: r.Key, Value: []byte(r.Topic)}}, nil
	}))
	got := readAll(t, addrs, "out", 60*200+60*20)
	lastHigh, lastNormal := -1, -1
	for i, r := range got {
		if string(r.Value) == "high" {
			lastHigh = i
		} else {
			lastNormal = i
		}
	}
	if lastHigh > lastNormal {
		t.Fatalf("the last high record came out at %d of %d, after the normal backlog (%d)", lastHigh, len(got), lastNormal)
	}
}

// TestPriorityIdleTurnPassesOn: a class whose turn brought nothing gives
// the next batch to the other, so a backlog that is not there (here the
// high topic's, which no poll reaches) delays normal work by a poll and
// never stops it.
func TestPriorityIdleTurnPassesOn(t *testing.T) {
	p := twoTopics(5)
	p.ends(map[string]map[int32]int64{"high": {1: 10}, "normal": {0: 100}})
	for range 3 {
		if pause, _ := p.next(); !slices.Equal(pause, []string{"normal"}) {
			t.Fatalf("high's turn expected, paused %v", pause)
		}
		p.idle()
		if pause, _ := p.next(); !slices.Equal(pause, []string{"high"}) {
			t.Fatalf("after high's idle turn normal's expected, paused %v", pause)
		}
		p.observe(polled("normal", 0, 100, &kgo.Record{Topic: "normal", Offset: 0}))
	}
}

// TestPriorityEndsReplaceWhatWasKnown: an end listed lower than before (a
// log cut back) ends the backlog it showed.
func TestPriorityEndsReplaceWhatWasKnown(t *testing.T) {
	p := twoTopics(5)
	p.ends(map[string]map[int32]int64{"high": {1: 10}, "normal": {0: 100}})
	p.positions(map[string]map[int32]kgo.EpochOffset{"high": {1: {Offset: 8}}})
	p.ends(map[string]map[int32]int64{"high": {1: 8}})
	if pause, _ := p.next(); len(pause) != 0 {
		t.Fatalf("high's end came down to its position but normal is paused: %v", pause)
	}
}
