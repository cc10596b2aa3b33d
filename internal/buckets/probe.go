package buckets

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"
)

// span is a range of offsets of one partition, [from, end).
type span struct{ from, end int64 }

// probeFetchBytes caps what one partition returns per fetch. Only the
// first record counts, and a broker returns at least one batch of the
// first partition whatever the cap, so a small cap keeps a sample of many
// lagging buckets from pulling megabytes of each.
const probeFetchBytes = 64 << 10

// firstRecords reads, read_committed, the first record of each span: the
// oldest record that waits there. A span holding only transaction markers
// and aborted records has none (no entry in the answer).
//
// A short-lived client does it, as internal/kafkaread does: it exists only
// while a sample runs, and no consuming state outlives a sample.
func firstRecords(ctx context.Context, kafka []kgo.Opt, spans map[tp]span) (map[tp]*waitingRecord, error) {
	// Control records are kept so that a span ending in a marker is seen
	// to end.
	cl, err := kgo.NewClient(append(append([]kgo.Opt{kgo.ClientID("ration-buckets-probe")}, kafka...),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
		kgo.FetchMaxPartitionBytes(probeFetchBytes),
		// A position below the start (records deleted meanwhile) reads
		// from the start.
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	consume := make(map[string]map[int32]kgo.Offset)
	pending := make(map[tp]span, len(spans))
	for k, s := range spans {
		if consume[k.topic] == nil {
			consume[k.topic] = make(map[int32]kgo.Offset)
		}
		consume[k.topic][k.partition] = kgo.NewOffset().At(s.from)
		pending[k] = s
	}
	cl.AddConsumePartitions(consume)
	found := make(map[tp]*waitingRecord)
	for len(pending) > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("%d buckets unread: %w", len(pending), err)
		}
		var ferr error
		fs.EachError(func(t string, p int32, err error) {
			if ferr == nil {
				ferr = fmt.Errorf("%s/%d: %w", t, p, err)
			}
		})
		if ferr != nil {
			return nil, ferr
		}
		done := make(map[string][]int32)
		fs.EachRecord(func(r *kgo.Record) {
			k := tp{r.Topic, r.Partition}
			s, ok := pending[k]
			if !ok {
				return
			}
			control := r.Attrs.IsControl()
			if control && r.Offset+1 < s.end {
				return // a marker: not work, and not the end yet
			}
			if !control && r.Offset < s.end {
				found[k] = &waitingRecord{offset: r.Offset, at: r.Timestamp}
			}
			delete(pending, k)
			done[r.Topic] = append(done[r.Topic], r.Partition)
		})
		cl.PauseFetchPartitions(done)
	}
	return found, nil
}
