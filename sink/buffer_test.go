package sink

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestBuffer(t *testing.T) {
	now := time.Unix(100, 0)
	rw := row{table: dmUserLog, values: []any{"x"}}
	fill := func() *buffer {
		b := newBuffer()
		b.add(&kgo.Record{Topic: "a", Partition: 0, Offset: 4, LeaderEpoch: 1}, &rw, now)
		b.add(&kgo.Record{Topic: "a", Partition: 0, Offset: 5, LeaderEpoch: 1}, nil, now.Add(time.Second))
		b.add(&kgo.Record{Topic: "a", Partition: 1, Offset: 9}, &rw, now.Add(time.Second))
		return b
	}

	t.Run("due by rows or by the oldest record's age", func(t *testing.T) {
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
	t.Run("take commits past skipped records", func(t *testing.T) {
		bt := fill().take()
		if bt.count != 2 || len(bt.rows[dmUserLog]) != 2 {
			t.Fatalf("rows %d", bt.count)
		}
		if got := bt.offsets["a"][0]; got != (kgo.EpochOffset{Epoch: 1, Offset: 6}) {
			t.Fatalf("offset of a/0 = %+v, want 6 at epoch 1", got)
		}
		if got := bt.offsets["a"][1].Offset; got != 10 {
			t.Fatalf("offset of a/1 = %d, want 10", got)
		}
	})
	t.Run("drop forgets rows and offsets of lost partitions", func(t *testing.T) {
		b := fill()
		b.drop(map[string][]int32{"a": {0}})
		if b.records != 1 {
			t.Fatalf("records %d, want 1", b.records)
		}
		bt := b.take()
		if _, ok := bt.offsets["a"][0]; ok || bt.count != 1 {
			t.Fatalf("a/0 kept: %+v", bt)
		}
		b.drop(map[string][]int32{"a": {1}})
		if !b.deadline(time.Second).IsZero() || b.records != 0 {
			t.Fatal("empty buffer has a deadline")
		}
	})
}
