package conformance

import (
	"strings"
	"testing"
)

func TestLedgerFindsWhatBreaksExactlyOnceInOrder(t *testing.T) {
	type out struct {
		key string
		seq int
		p   int32
	}
	for _, tc := range []struct {
		name string
		outs []out
		want map[string]int
		find string // in the verdict; "" for none
	}{
		{"each once in order", []out{{"a", 0, 1}, {"b", 0, 2}, {"a", 1, 1}, {"b", 1, 2}}, map[string]int{"a": 2, "b": 2}, ""},
		{"a duplicate", []out{{"a", 0, 1}, {"a", 1, 1}, {"a", 1, 1}}, map[string]int{"a": 2}, "seq 1 arrived again"},
		{"a late duplicate", []out{{"a", 0, 1}, {"a", 1, 1}, {"a", 0, 1}}, map[string]int{"a": 2}, "seq 0 arrived again"},
		{"a gap", []out{{"a", 0, 1}, {"a", 2, 1}}, map[string]int{"a": 3}, "seq 2 arrived while seq 1 was due"},
		{"out of order", []out{{"a", 1, 1}, {"a", 0, 1}}, map[string]int{"a": 2}, "seq 1 arrived while seq 0 was due"},
		{"a missing tail", []out{{"a", 0, 1}}, map[string]int{"a": 2}, "key a: outputs up to seq 0 arrived, want seqs 0..1"},
		{"a key never fed", []out{{"a", 0, 1}, {"x", 0, 1}}, map[string]int{"a": 1}, "key x: 1 outputs, want none"},
		{"a key in two partitions", []out{{"a", 0, 1}, {"a", 1, 2}}, map[string]int{"a": 2}, "arrived in partition 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLedger()
			for _, o := range tc.outs {
				l.add(o.key, o.seq, o.p)
			}
			v := strings.Join(l.verdict(tc.want), "\n")
			switch {
			case tc.find == "" && v != "":
				t.Fatalf("verdict %q, want none", v)
			case !strings.Contains(v, tc.find):
				t.Fatalf("verdict %q, want it to say %q", v, tc.find)
			}
		})
	}
}

func TestLedgerPinsSentinelsToTheirPartition(t *testing.T) {
	l := newLedger()
	l.pin("s", 3)
	l.add("s", 0, 4)
	if v := strings.Join(l.verdict(map[string]int{"s": 1}), "\n"); !strings.Contains(v, "belong in 3") {
		t.Fatalf("verdict %q: a sentinel in the wrong partition went unseen", v)
	}
}

func TestLedgerBoundsItsList(t *testing.T) {
	l := newLedger()
	for range 50 {
		l.add("a", 0, 0)
	}
	v := l.verdict(map[string]int{"a": 1})
	if len(v) != maxProblems+1 || !strings.Contains(v[maxProblems], "29 more") {
		t.Fatalf("verdict of %d lines ending %q, want %d problems and a count of the rest", len(v), v[len(v)-1], maxProblems)
	}
}
