package conformance

import (
	"fmt"
	"maps"
	"slices"
)

// maxProblems bounds the problems a ledger lists; the rest are counted.
const maxProblems = 20

// ledger checks the final outputs as they arrive: each key's seqs must
// come 0, 1, 2, ... exactly once, all in one partition.
type ledger struct {
	next      map[string]int   // per key, the seq due next
	partition map[string]int32 // per key, where its outputs arrive
	outputs   int              // read
	fresh     int              // read and not a duplicate: progress
	problems  []string
	dropped   int // problems not listed
}

func newLedger() *ledger {
	return &ledger{next: make(map[string]int), partition: make(map[string]int32)}
}

// pin says in which partition key's outputs must arrive.
func (l *ledger) pin(key string, p int32) { l.partition[key] = p }

// add takes one output: the seq-th item of key, read from partition p.
func (l *ledger) add(key string, seq int, p int32) {
	l.outputs++
	if want, ok := l.partition[key]; !ok {
		l.partition[key] = p
	} else if want != p {
		l.problem("key %s: seq %d arrived in partition %d, the key's outputs belong in %d", key, seq, p, want)
	}
	switch n := l.next[key]; {
	case seq < n:
		l.problem("key %s: seq %d arrived again (a duplicate; seq %d was due)", key, seq, n)
	case seq > n:
		l.problem("key %s: seq %d arrived while seq %d was due (a gap, or out of order)", key, seq, n)
		l.next[key] = seq + 1
		l.fresh++
	default:
		l.next[key] = n + 1
		l.fresh++
	}
}

func (l *ledger) problem(format string, args ...any) {
	if len(l.problems) < maxProblems {
		l.problems = append(l.problems, fmt.Sprintf(format, args...))
		return
	}
	l.dropped++
}

// reached reports whether key's first n items have arrived.
func (l *ledger) reached(key string, n int) bool { return l.next[key] >= n }

// verdict compares what arrived with want (per key, the number of items
// fed whose outputs must arrive) and lists every difference: none means
// each item came out exactly once, in its key's order.
func (l *ledger) verdict(want map[string]int) []string {
	out := slices.Clone(l.problems)
	if l.dropped > 0 {
		out = append(out, fmt.Sprintf("... and %d more problems", l.dropped))
	}
	var counts []string
	for _, key := range slices.Sorted(maps.Keys(want)) {
		if got, n := l.next[key], want[key]; got != n {
			counts = append(counts, fmt.Sprintf("key %s: outputs up to seq %d arrived, want seqs 0..%d", key, got-1, n-1))
		}
	}
	for _, key := range slices.Sorted(maps.Keys(l.next)) {
		if _, ok := want[key]; !ok {
			counts = append(counts, fmt.Sprintf("key %s: %d outputs, want none", key, l.next[key]))
		}
	}
	if len(counts) > maxProblems {
		counts = append(counts[:maxProblems], fmt.Sprintf("... and %d more keys", len(counts)-maxProblems))
	}
	return append(out, counts...)
}
