// Package deadletter is the operator's side of a stage's dead-letter and
// parked topics: list what is there, replay it to where it came from, or
// purge it. Records get there from the stage runtime (package processor)
// with their original key, value and headers plus ration.dead.* headers.
package deadletter

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/processor"
)

var _ ration.DeadLetters = (*Tool)(nil)

// Tool works on one dead-letter topic. Its Kafka identity must be allowed
// to read and delete the topic's records and to write the original topics.
type Tool struct {
	cl    *kgo.Client
	opts  []kgo.Opt
	topic string
}

// New returns a tool for topic that reaches the cluster with opts
// (kafkaconn.Config.Opts). Close it when done.
func New(opts []kgo.Opt, topic string) (*Tool, error) {
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	return &Tool{cl: cl, opts: opts, topic: topic}, nil
}

// Close closes the tool's client.
func (t *Tool) Close() { t.cl.Close() }

// List returns up to limit dead letters, oldest first per partition.
func (t *Tool) List(ctx context.Context, limit int) ([]ration.DeadLetter, error) {
	recs, _, err := t.read(ctx, limit)
	if err != nil {
		return nil, err
	}
	out := make([]ration.DeadLetter, 0, len(recs))
	for _, r := range recs {
		out = append(out, letter(r))
	}
	return out, nil
}

// Replay sends every dead letter that is there now back to its original
// topic (original key, value and headers, without the ration.dead.* and
// ration.retry.* headers: processor.Reinject), then deletes them from the dead-letter topic. A crash between
// the two sends them again on the next replay: replays are at least once.
func (t *Tool) Replay(ctx context.Context, dryRun bool) (ration.DeadLetterOutcome, error) {
	recs, _, err := t.read(ctx, 0)
	if err != nil {
		return ration.DeadLetterOutcome{}, err
	}
	out := ration.DeadLetterOutcome{Letters: len(recs), DryRun: dryRun}
	if dryRun {
		return out, nil
	}
	originals := make([]*kgo.Record, 0, len(recs))
	for _, r := range recs {
		l := letter(r)
		if l.OriginalTopic == "" {
			return out, fmt.Errorf("dead letter %d/%d has no %s header", r.Partition, r.Offset, processor.HeaderDeadTopic)
		}
		// A fresh start: without the dead-letter and retry headers, so a
		// parked record is not taken for one returning from a delay tier.
		again := processor.Reinject(r, processor.RetryCount(r))
		again.Topic = l.OriginalTopic
		originals = append(originals, again)
	}
	if err := t.cl.ProduceSync(ctx, originals...).FirstErr(); err != nil {
		return out, fmt.Errorf("replay: %w", err)
	}
	out.Replayed = len(originals)
	// Delete exactly what was replayed: up to the last record read in each
	// partition, not to the end listed before reading.
	replayed := kadm.Offsets{}
	for _, r := range recs {
		replayed.AddOffset(r.Topic, r.Partition, r.Offset+1, -1)
	}
	if err := t.delete(ctx, replayed); err != nil {
		return out, err
	}
	out.Purged = len(recs)
	return out, nil
}

// Purge deletes every dead letter that is there now.
func (t *Tool) Purge(ctx context.Context, dryRun bool) (ration.DeadLetterOutcome, error) {
	recs, ends, err := t.read(ctx, 0)
	if err != nil {
		return ration.DeadLetterOutcome{}, err
	}
	out := ration.DeadLetterOutcome{Letters: len(recs), DryRun: dryRun}
	if dryRun {
		return out, nil
	}
	offsets := kadm.Offsets{}
	ends.Each(func(o kadm.ListedOffset) { offsets.AddOffset(o.Topic, o.Partition, o.Offset, -1) })
	if err := t.delete(ctx, offsets); err != nil {
		return out, err
	}
	out.Purged = len(recs)
	return out, nil
}

// read returns the records between the start and the end offsets of every
// partition as they are now (at most limit, unless limit is 0), and those
// ends.
func (t *Tool) read(ctx context.Context, limit int) ([]*kgo.Record, kadm.ListedOffsets, error) {
	adm := kadm.NewClient(t.cl)
	starts, err := adm.ListStartOffsets(ctx, t.topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("dead letters %s: %w", t.topic, err)
	}
	ends, err := adm.ListCommittedOffsets(ctx, t.topic) // last stable offsets
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("dead letters %s: %w", t.topic, err)
	}
	from := map[int32]kgo.Offset{}
	want := map[int32]int64{}
	starts.Each(func(o kadm.ListedOffset) {
		if end, ok := ends.Lookup(t.topic, o.Partition); ok && end.Offset > o.Offset {
			from[o.Partition] = kgo.NewOffset().At(o.Offset)
			want[o.Partition] = end.Offset
		}
	})
	if len(from) == 0 {
		return nil, ends, nil
	}
	cl, err := kgo.NewClient(append(slices.Clone(t.opts),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{t.topic: from}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))...)
	if err != nil {
		return nil, nil, err
	}
	defer cl.Close()
	var recs []*kgo.Record
	for len(want) > 0 && (limit == 0 || len(recs) < limit) {
		// Offsets between a partition's last record and its last stable
		// offset are transaction markers, never returned: a quiet second
		// means everything there is has been read.
		pctx, cancel := context.WithTimeout(ctx, idle)
		fs := cl.PollFetches(pctx)
		quiet := pctx.Err() != nil && fs.NumRecords() == 0
		cancel()
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		if quiet {
			break
		}
		for _, fe := range fs.Errors() {
			if !errors.Is(fe.Err, context.DeadlineExceeded) {
				return nil, nil, fmt.Errorf("dead letters %s/%d: %w", fe.Topic, fe.Partition, fe.Err)
			}
		}
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset < want[r.Partition] && (limit == 0 || len(recs) < limit) {
				recs = append(recs, r)
			}
			if r.Offset >= want[r.Partition]-1 {
				delete(want, r.Partition)
			}
		})
	}
	slices.SortFunc(recs, func(a, b *kgo.Record) int {
		if a.Partition != b.Partition {
			return int(a.Partition - b.Partition)
		}
		return int(a.Offset - b.Offset)
	})
	return recs, ends, nil
}

// idle is how long read waits for more records before it concludes the
// rest of the topic is transaction markers.
const idle = time.Second

// delete deletes every record before the given offsets.
func (t *Tool) delete(ctx context.Context, offsets kadm.Offsets) error {
	resps, err := kadm.NewClient(t.cl).DeleteRecords(ctx, offsets)
	if err == nil {
		err = resps.Error()
	}
	if err != nil {
		return fmt.Errorf("purge %s: %w", t.topic, err)
	}
	return nil
}

func letter(r *kgo.Record) ration.DeadLetter {
	l := ration.DeadLetter{Partition: r.Partition, Offset: r.Offset, Key: string(r.Key), Value: r.Value}
	for _, h := range r.Headers {
		v := string(h.Value)
		switch h.Key {
		case processor.HeaderDeadStage:
			l.Stage = v
		case processor.HeaderDeadError:
			l.Error = v
		case processor.HeaderDeadTopic:
			l.OriginalTopic = v
		case processor.HeaderDeadPartition:
			p, _ := strconv.ParseInt(v, 10, 32)
			l.OriginalPartition = int32(p)
		case processor.HeaderDeadOffset:
			l.OriginalOffset, _ = strconv.ParseInt(v, 10, 64)
		case processor.HeaderDeadTime:
			l.Time, _ = time.Parse(time.RFC3339Nano, v)
		}
	}
	return l
}
