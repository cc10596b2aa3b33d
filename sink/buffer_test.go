package sink

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestBuffer(t *testing.T) {
	now := time.Unix(100, 0)
	x, y := &Table{Name: "x"}, &Table{Name: "y"}
	fill := func() *buffer {
		b := newBuffer()
		// A record of two rows in two tables, a skipped one, and one of
		// another partition.
		b.add(&kgo.Record{Topic: "a", Partition: 0, Offset: 4, LeaderEpoch: 1},
			[]Row{{Table: x, Values: []any{"x4"}}, {Table: y, Values: []any{"y4"}}}, now)
		b.add(&kgo.Record{Topic: "a", Partition: 0, Offset: 5, LeaderEpoch: 1}, nil, now.Add(time.Second))
		b.add(&kgo.Record{Topic: "a", Partition: 1, Offset: 9}, []Row{{Table: x, Values: []any{"x9"}}}, now.Add(time.Second))
		return b
	}

	t.Run("due by records or by the oldest record's age", func(t *testing.T) {
		b := fill()
		if b.due(now, 4, time.Minute) {
			t.Fatal("due with 3 of 4 records")
		}
		if !b.due(now, 3, time.Minute) {
			t.Fatal("not due with 3 of 3 records")
		}
		if !b.due(now.Add(time.Minute), 4, time.Minute) {
			t.Fatal("not due after the interval")
		}
		if !b.deadline(time.Minute).Equal(now.Add(time.Minute)) {
			t.Fatalf("deadline %v", b.deadline(time.Minute))
		}
	})
	t.Run("an empty buffer is never due", func(t *testing.T) {
		b := newBuffer()
		if b.due(now.Add(time.Hour), 1, time.Minute) || !b.deadline(time.Minute).IsZero() {
			t.Fatal("empty buffer due")
		}
	})
	t.Run("take groups rows by table and commits past skipped records", func(t *testing.T) {
		b := fill()
		bt := b.take()
		if bt.count != 3 || len(bt.rows[x]) != 2 || len(bt.rows[y]) != 1 {
			t.Fatalf("%d rows: %v", bt.count, bt.rows)
		}
		if got := bt.offsets["a"][0]; got != (kgo.EpochOffset{Epoch: 1, Offset: 6}) {
			t.Fatalf("offset of a/0 = %+v, want 6 at epoch 1", got)
		}
		if got := bt.offsets["a"][1].Offset; got != 10 {
			t.Fatalf("offset of a/1 = %d, want 10", got)
		}
		if b.records != 0 || !b.deadline(time.Minute).IsZero() || len(b.take().offsets) != 0 {
			t.Fatal("take left the buffer holding records")
		}
	})
	t.Run("drop forgets rows and offsets of lost partitions", func(t *testing.T) {
		b := fill()
		b.drop(map[string][]int32{"a": {0}, "other": {0}})
		if b.records != 1 {
			t.Fatalf("records %d, want 1", b.records)
		}
		bt := b.take()
		if _, ok := bt.offsets["a"][0]; ok || bt.count != 1 || len(bt.rows[y]) != 0 {
			t.Fatalf("a/0 kept: %+v", bt)
		}
		b = fill()
		b.drop(map[string][]int32{"a": {0, 1}})
		if !b.deadline(time.Second).IsZero() || b.records != 0 {
			t.Fatal("emptied buffer has a deadline")
		}
	})
}
