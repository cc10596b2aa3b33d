package conformance

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/processor"
	"github.com/rationhq/ration/schemas"
)

// poisonItems is how many items each poisoned key is fed.
const poisonItems = 3

// checkParking: in each stage with retries, one key fails every try. Its
// items end on that stage's parked topic, each once, with a REPROCESS
// event naming the stage (in a stage that holds a parked item's key, only
// its oldest item parks: the others wait behind it); every other key
// completes exactly once and in order, and nothing else parks.
func checkParking(t *testing.T, s Subject) {
	c := newCluster(t, s)
	stages := retryStages(c.d)
	if len(stages) == 0 {
		t.Skip("no stage has retries")
	}
	it := c.newItems("park", keys/2)
	spec := faultSpec{Seed: 2, Percent: faultPercent, Poison: make(map[string]string)}
	poisonOf := make(map[string]string) // key to stage
	parks := make(map[string]int)       // by stage, the items that park
	var poisoned []string
	for _, st := range stages {
		parks[st] = poisonItems
		if d, _ := c.d.Stage(st); d.Hold {
			parks[st] = 1
		}
		k := fmt.Sprintf("%s-poison-%s", it.prefix, st)
		spec.Poison[st], poisonOf[k] = k, st
		it.parked[k] = true
		poisoned = append(poisoned, k)
	}

	// What parks, and the REPROCESS events, as they are committed.
	var (
		parked    = make(map[string][]*kgo.Record) // by topic
		reprocess []schemas.Event
		bad       []string
	)
	topics := []string{c.d.EventsTopic()}
	for _, st := range stages {
		topics = append(topics, c.d.ParkedTopic(st))
	}
	c.follow(t, topics, func(r *kgo.Record) {
		if r.Topic != c.d.EventsTopic() {
			parked[r.Topic] = append(parked[r.Topic], r)
			return
		}
		var e schemas.Event
		if err := c.codec.Decode(r.Value, &e); err != nil {
			bad = append(bad, fmt.Sprintf("event at %d/%d: %v", r.Partition, r.Offset, err))
		} else if e.Status == schemas.StatusReprocess {
			reprocess = append(reprocess, e)
		}
	})

	c.feed(t, it, it.keys, perKey/2)
	c.feed(t, it, poisoned, poisonItems)
	f := newFaults(spec)
	c.startLocal(t, "w1", f)
	c.startLocal(t, "w2", f)

	// A poisoned item that never parks is reported below.
	c.board.Await(outputsTimeout, func() (all bool) {
		c.board.Read(func() {
			all = len(reprocess) >= total(parks)
			for _, st := range stages {
				all = all && len(parked[c.d.ParkedTopic(st)]) >= parks[st]
			}
		})
		return all
	})
	c.finish(t, it)

	c.board.Read(func() {
		for _, b := range bad {
			t.Error(b)
		}
		for _, st := range stages {
			checkParked(t, st, spec.Poison[st], parks[st], parked[c.d.ParkedTopic(st)])
		}
		perStage := make(map[string]int)
		for _, e := range reprocess {
			switch st, ok := poisonOf[e.ItemID]; {
			case !ok:
				t.Errorf("REPROCESS event of %s in stage %s: only the poisoned keys may park", e.ItemID, e.Stage)
			case e.Stage != st || e.Pipeline != c.d.Name:
				t.Errorf("REPROCESS event of %s names %s.%s, want %s.%s", e.ItemID, e.Pipeline, e.Stage, c.d.Name, st)
			default:
				perStage[st]++
			}
		}
		for _, st := range stages {
			if perStage[st] != parks[st] {
				t.Errorf("stage %s: %d REPROCESS events of its poisoned key, want %d", st, perStage[st], parks[st])
			}
		}
	})
	c.requireInjected(t, f)
	verify(t, s, it)
	if !t.Failed() {
		t.Logf("the poisoned keys parked in their stages %v", stages)
	}
}

// checkParked checks a stage's parked records: n items of the poisoned
// key, each once, each saying it parked in the stage.
func checkParked(t *testing.T, stage, key string, n int, recs []*kgo.Record) {
	t.Helper()
	if len(recs) != n {
		t.Errorf("stage %s: %d parked records, want %d items of %s", stage, len(recs), n, key)
	}
	seen := make(map[string]bool)
	for _, r := range recs {
		if string(r.Key) != key {
			t.Errorf("stage %s parked an item of %s; only %s fails there", stage, r.Key, key)
		}
		if seen[string(r.Value)] {
			t.Errorf("stage %s parked an item of %s twice", stage, r.Key)
		}
		seen[string(r.Value)] = true
		if got := header(r, processor.HeaderDeadStage); got != stage {
			t.Errorf("a record parked by stage %s says it parked in %q", stage, got)
		}
	}
}

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}
