package processor

import (
	"reflect"
	"testing"
)

// TestLoopRules walks keys through the retry loop's decisions without
// Kafka: what admit does with each record and what failed does after a
// transient failure, with and without holding the key while parked.
func TestLoopRules(t *testing.T) {
	type step struct {
		what     string // "admit SEQ ITEM", "giveup ITEM", or "fail SEQ ATTEMPTS ITEM"
		seq      int
		attempts int
		item     string
		wantAct  action
		wantSeq  int
		wantTier int
		parked   bool
	}
	for _, tc := range []struct {
		name  string
		rules loopRules
		steps []step
		end   keyLoop
	}{
		{"a new record is tried", loopRules{tiers: 3}, []step{
			{what: "admit", seq: -1, item: "a", wantAct: actTry, wantSeq: -1},
		}, keyLoop{}},
		{"a later record waits in the oldest one's tier", loopRules{tiers: 3}, []step{
			{what: "admit", seq: -1, item: "a", wantAct: actTry, wantSeq: -1},
			{what: "fail", seq: -1, attempts: 1, item: "a", wantSeq: 0},
			{what: "admit", seq: -1, item: "b", wantAct: actWait, wantSeq: 1, wantTier: 1},
			{what: "admit", seq: 1, item: "b", wantAct: actWait, wantSeq: 1, wantTier: 1}, // back before a
			{what: "admit", seq: 0, item: "a", wantAct: actTry, wantSeq: 0},
			{what: "fail", seq: 0, attempts: 2, item: "a", wantSeq: 0},
			{what: "admit", seq: 1, item: "b", wantAct: actWait, wantSeq: 1, wantTier: 2}, // follows a to tier 2
		}, keyLoop{seqs: []int{0, 1}, tiers: []int{2, 2}, next: 2}},
		{"parking releases the key", loopRules{tiers: 1}, []step{
			{what: "admit", seq: -1, item: "a", wantAct: actTry, wantSeq: -1},
			{what: "fail", seq: -1, attempts: 1, item: "a", wantSeq: 0},
			{what: "admit", seq: -1, item: "b", wantAct: actWait, wantSeq: 1, wantTier: 1},
			{what: "admit", seq: 0, item: "a", wantAct: actTry, wantSeq: 0},
			{what: "fail", seq: 0, attempts: 2, item: "a", wantSeq: 0, parked: true},
			{what: "admit", seq: 1, item: "b", wantAct: actTry, wantSeq: 1},
		}, keyLoop{seqs: []int{}, tiers: []int{}, next: 2}},
		{"a held key waits for its parked record, which the reprocessor sends again", loopRules{tiers: 1, hold: true}, []step{
			{what: "admit", seq: -1, item: "a", wantAct: actTry, wantSeq: -1},
			{what: "fail", seq: -1, attempts: 1, item: "a", wantSeq: 0},
			{what: "admit", seq: -1, item: "b", wantAct: actWait, wantSeq: 1, wantTier: 1},
			{what: "admit", seq: 0, item: "a", wantAct: actTry, wantSeq: 0},
			{what: "fail", seq: 0, attempts: 2, item: "a", wantSeq: 0, parked: true},
			{what: "admit", seq: 1, item: "b", wantAct: actWait, wantSeq: 1, wantTier: 1}, // still held
			{what: "admit", seq: -1, item: "c", wantAct: actWait, wantSeq: 2, wantTier: 1},
			{what: "admit", seq: -1, item: "a", wantAct: actTry, wantSeq: 0}, // a, sent again
			{what: "admit", seq: 1, item: "b", wantAct: actTry, wantSeq: 1},
		}, keyLoop{seqs: []int{2}, tiers: []int{1}, next: 3}},
		{"a give-up releases a held key", loopRules{tiers: 1, hold: true}, []step{
			{what: "admit", seq: -1, item: "a", wantAct: actTry, wantSeq: -1},
			{what: "fail", seq: -1, attempts: 2, item: "a", wantSeq: 0, parked: true},
			{what: "admit", seq: -1, item: "b", wantAct: actWait, wantSeq: 1, wantTier: 1},
			{what: "giveup", item: "x", wantAct: actDrop, wantSeq: -1}, // not the parked one
			{what: "giveup", item: "a", wantAct: actRelease, wantSeq: -1},
			{what: "admit", seq: 1, item: "b", wantAct: actTry, wantSeq: 1},
		}, keyLoop{seqs: []int{}, tiers: []int{}, next: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var k keyLoop
			for i, s := range tc.steps {
				switch s.what {
				case "fail":
					seq, parked := tc.rules.failed(&k, s.seq, s.attempts, s.item)
					if seq != s.wantSeq || parked != s.parked {
						t.Fatalf("step %d %s: seq %d parked %v, want %d %v (loop %+v)", i, s.what, seq, parked, s.wantSeq, s.parked, k)
					}
				default:
					act, seq, tier := tc.rules.admit(&k, retryMeta{seq: s.seq, giveUp: s.what == "giveup"}, s.item)
					if act != s.wantAct || seq != s.wantSeq || tier != s.wantTier {
						t.Fatalf("step %d %s %s: action %d seq %d tier %d, want %d %d %d (loop %+v)",
							i, s.what, s.item, act, seq, tier, s.wantAct, s.wantSeq, s.wantTier, k)
					}
				}
			}
			if len(k.seqs) == 0 && len(tc.end.seqs) == 0 {
				k.seqs, tc.end.seqs, k.tiers, tc.end.tiers = nil, nil, nil, nil
			}
			if !reflect.DeepEqual(k, tc.end) {
				t.Fatalf("loop %+v, want %+v", k, tc.end)
			}
		})
	}
}
