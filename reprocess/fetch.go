package reprocess

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration"
)

type topicPartition struct {
	topic     string
	partition int32
}

// fetchSources reads the records behind items' latest events. An item
// whose record is gone (past retention) is missing from the answer.
func fetchSources(ctx context.Context, kafka []kgo.Opt, items []ration.ItemStatus) (map[topicPartition]map[int64]*kgo.Record, error) {
	want := make(map[topicPartition][]int64)
	for _, it := range items {
		k := topicPartition{it.SourceTopic, it.SourcePartition}
		want[k] = append(want[k], it.SourceOffset)
	}
	out := make(map[topicPartition]map[int64]*kgo.Record, len(want))
	cl, err := kgo.NewClient(append(slices.Clone(kafka), kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	// One partition at a time, from its lowest wanted offset to its
	// highest: parked items of one outage sit close together.
	for k, offsets := range want {
		slices.Sort(offsets)
		got, err := readRange(ctx, cl, k, offsets)
		if err != nil {
			return nil, err
		}
		out[k] = got
	}
	return out, nil
}

func readRange(ctx context.Context, cl *kgo.Client, k topicPartition, offsets []int64) (map[int64]*kgo.Record, error) {
	got := make(map[int64]*kgo.Record, len(offsets))
	first, last := offsets[0], offsets[len(offsets)-1]
	cl.AddConsumePartitions(map[string]map[int32]kgo.Offset{k.topic: {k.partition: kgo.NewOffset().At(first)}})
	defer cl.RemoveConsumePartitions(map[string][]int32{k.topic: {k.partition}})
	for {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("reading %s/%d: %w", k.topic, k.partition, err)
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) { ferr = err })
		if errors.Is(ferr, kerr.OffsetOutOfRange) {
			return got, nil // deleted by retention: what is left is missing
		}
		if ferr != nil {
			return nil, fmt.Errorf("reading %s/%d: %w", k.topic, k.partition, ferr)
		}
		done := false
		fs.EachRecord(func(r *kgo.Record) {
			if _, ok := slices.BinarySearch(offsets, r.Offset); ok && !r.Attrs.IsControl() {
				got[r.Offset] = r
			}
			done = done || r.Offset >= last
		})
		if done {
			return got, nil
		}
	}
}
