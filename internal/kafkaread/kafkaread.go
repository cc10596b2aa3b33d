// Package kafkaread reads partitions from their start to their current end,
// read-committed: how a worker loads a changelog or a state topic into
// memory before it acts on it.
package kafkaread

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ToEnd reads parts (topic to partitions; none: all of the topic's) from
// their start up to the ends they have when it is called and passes every
// record, in order within a partition, to fn; transaction markers are not
// passed. A transaction still open when ToEnd is called holds the read
// back until it ends, so nothing it commits is missed. An error of fn ends
// the read.
func ToEnd(ctx context.Context, kafka []kgo.Opt, parts map[string][]int32, fn func(*kgo.Record) error) error {
	// Control records (transaction markers) are kept so that a partition
	// ending in a commit marker is seen to end.
	// The id tells the broker's logs and request metrics what the client
	// is, unless kafka names it.
	cl, err := kgo.NewClient(append(append([]kgo.Opt{kgo.ClientID("ration-read-to-end")}, kafka...),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())...)
	if err != nil {
		return err
	}
	defer cl.Close()
	topics := make([]string, 0, len(parts))
	for t := range parts {
		topics = append(topics, t)
	}
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topics...)
	if err != nil {
		return fmt.Errorf("end offsets: %w", err)
	}
	type tp struct {
		topic     string
		partition int32
	}
	pending := make(map[tp]int64)
	consume := make(map[string]map[int32]kgo.Offset)
	for t, ps := range parts {
		if len(ps) == 0 {
			for p := range ends[t] {
				ps = append(ps, p)
			}
		}
		for _, p := range ps {
			end, ok := ends.Lookup(t, p)
			if !ok || end.Err != nil {
				return fmt.Errorf("%s/%d has no end offset: %v", t, p, end.Err)
			}
			if end.Offset == 0 {
				continue
			}
			pending[tp{t, p}] = end.Offset
			if consume[t] == nil {
				consume[t] = make(map[int32]kgo.Offset)
			}
			consume[t][p] = kgo.NewOffset().AtStart()
		}
	}
	if len(pending) == 0 {
		return nil
	}
	cl.AddConsumePartitions(consume)
	for len(pending) > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("reading %v: %w", topics, err)
		}
		var ferr error
		fs.EachError(func(t string, p int32, err error) { ferr = fmt.Errorf("%s/%d: %w", t, p, err) })
		if ferr != nil {
			return ferr
		}
		for it := fs.RecordIter(); !it.Done(); {
			r := it.Next()
			k := tp{r.Topic, r.Partition}
			end, ok := pending[k]
			if !ok {
				continue // past its end already
			}
			if r.Offset >= end-1 {
				delete(pending, k)
			}
			if r.Attrs.IsControl() {
				continue
			}
			if err := fn(r); err != nil {
				return fmt.Errorf("%s/%d@%d: %w", r.Topic, r.Partition, r.Offset, err)
			}
		}
	}
	return nil
}
