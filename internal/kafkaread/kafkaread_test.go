package kafkaread

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestToEndReadsCommittedRecordsToTheirEnd: records of committed
// transactions come, in order, without the markers after them or the
// records of aborted ones; partitions not asked for are not read; the read
// ends at the end it found.
func TestToEndReadsCommittedRecordsToTheirEnd(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tx, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.TransactionalID("t"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	ctx := context.Background()
	write := func(end kgo.TransactionEndTry, partition int32, values ...string) {
		t.Helper()
		if err := tx.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for _, v := range values {
			if err := tx.ProduceSync(ctx, &kgo.Record{Topic: "log", Partition: partition, Value: []byte(v)}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.EndTransaction(ctx, end); err != nil {
			t.Fatal(err)
		}
	}
	write(kgo.TryCommit, 0, "a", "b")
	write(kgo.TryAbort, 0, "aborted")
	write(kgo.TryCommit, 0, "c")
	write(kgo.TryCommit, 1, "x")
	write(kgo.TryCommit, 2, "not asked for")

	read := func(parts []int32) []string {
		t.Helper()
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		var got []string
		if err := ToEnd(ctx, []kgo.Opt{kgo.SeedBrokers(c.ListenAddrs()...)}, map[string][]int32{"log": parts}, func(r *kgo.Record) error {
			got = append(got, fmt.Sprintf("%d:%s", r.Partition, r.Value))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		slices.Sort(got) // in order within a partition; partitions interleave
		return got
	}
	if got, want := read([]int32{0, 1}), []string{"0:a", "0:b", "0:c", "1:x"}; !slices.Equal(got, want) {
		t.Fatalf("read %v, want %v", got, want)
	}
	if got := read(nil); len(got) != 5 {
		t.Fatalf("every partition: read %v, want the 5 committed records", got)
	}
}
