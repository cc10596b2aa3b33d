// Package kafkatable follows a compacted topic as a table: it reads the
// topic from its start, says when it has caught up with what the topic
// held when it started, and then applies every new record as it comes.
// Every API process keeps its registries (clients, receipt types) this
// way, so a change made on one node is in force on all of them within a
// fetch wait.
package kafkatable

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// FetchWait caps how long a fetch waits for new records: it is the delay
// after which a change made elsewhere applies here (Kafka's own default
// is 5 s).
const FetchWait = 500 * time.Millisecond

// idleAfter is how long a follower that has not caught up waits for a
// record before it concludes there is none left: several fetch waits.
const idleAfter = 4 * FetchWait

// Follower applies every record of one topic, in order, read_committed.
type Follower struct {
	topic string
	apply func(*kgo.Record)
	opts  []kgo.Opt
	log   *slog.Logger
	ready chan struct{}
	since time.Time // the zero time: from the start

	// For CatchUp: the client while Run runs, and per partition the
	// offset after the last record applied (or where reading started),
	// with a channel closed, and replaced, whenever it moves.
	mu       sync.Mutex
	cl       *kgo.Client
	next     map[int32]int64
	progress chan struct{}
}

// New returns a follower of topic that calls apply for every record (a
// tombstone has a nil Value), from one goroutine. opts reach the cluster
// (kafkaconn.Config.Opts); log may be nil.
func New(topic string, apply func(*kgo.Record), log *slog.Logger, opts ...kgo.Opt) *Follower {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Follower{topic: topic, apply: apply, opts: opts, log: log.With("topic", topic), ready: make(chan struct{}),
		next: make(map[int32]int64), progress: make(chan struct{})}
}

// Since makes f read the topic from the first record at or after t rather
// than from its start: a log's recent past, not a table. Call it before
// Run.
func (f *Follower) Since(t time.Time) *Follower {
	f.since = t
	return f
}

// Ready is closed once the follower has applied every record that was in
// the topic when it started: before that the table may lack entries.
func (f *Follower) Ready() <-chan struct{} { return f.ready }

// Run follows the topic until ctx ends, then returns nil.
func (f *Follower) Run(ctx context.Context) error {
	from := kgo.NewOffset().AtStart()
	if !f.since.IsZero() {
		from = kgo.NewOffset().AfterMilli(f.since.UnixMilli())
	}
	opts := append([]kgo.Opt{
		// Named, so that the broker's logs and request metrics tell the
		// followers apart (franz-go's default is "kgo" for every client).
		kgo.ClientID("ration-follow-" + f.topic),
		kgo.ConsumeTopics(f.topic),
		kgo.ConsumeResetOffset(from),
		kgo.FetchMaxWait(FetchWait),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
	}, f.opts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("follow %s: %w", f.topic, err)
	}
	defer cl.Close()
	ends, starts, err := f.endOffsets(ctx, cl)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	f.mu.Lock()
	f.cl = cl
	maps.Copy(f.next, starts)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.cl = nil
		f.mu.Unlock()
	}()
	f.markReady(ends)
	for {
		fs, idle := f.poll(ctx, cl)
		if ctx.Err() != nil {
			return nil
		}
		if idle {
			// Nothing to read for a while: caught up, even if the last
			// offsets before the end hold no record (a compacted-away
			// tombstone).
			clear(ends)
		}
		fs.EachError(func(topic string, p int32, err error) {
			if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
				f.log.Warn("follow: fetch error", "partition", p, "err", err)
			}
		})
		fs.EachRecord(func(r *kgo.Record) {
			f.apply(r)
			if ends != nil && r.Offset+1 >= ends[r.Partition] {
				delete(ends, r.Partition)
			}
		})
		f.advance(fs)
		f.markReady(ends)
	}
}

// poll waits for records; until the follower is ready it gives up after
// idleAfter and reports that it found nothing.
func (f *Follower) poll(ctx context.Context, cl *kgo.Client) (kgo.Fetches, bool) {
	select {
	case <-f.ready:
		return cl.PollFetches(ctx), false
	default:
	}
	pctx, cancel := context.WithTimeout(ctx, idleAfter)
	defer cancel()
	fs := cl.PollFetches(pctx)
	return fs, pctx.Err() != nil && ctx.Err() == nil && fs.NumRecords() == 0
}

// markReady closes ready once no partition has records left to catch up.
func (f *Follower) markReady(ends map[int32]int64) {
	select {
	case <-f.ready:
		return
	default:
	}
	if len(ends) == 0 {
		close(f.ready)
	}
}

// advance records how far fs took each partition, for CatchUp.
func (f *Follower) advance(fs kgo.Fetches) {
	if fs.NumRecords() == 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	fs.EachPartition(func(p kgo.FetchTopicPartition) {
		if n := len(p.Records); n > 0 {
			f.next[p.Partition] = p.Records[n-1].Offset + 1
		}
	})
	close(f.progress)
	f.progress = make(chan struct{})
}

// CatchUp returns once the follower has applied every record that was in
// the topic when it was called (one request for the topic's end offsets),
// or with ctx's error: a reader that does not find what another process
// may have written a moment ago catches up before it answers that it is
// not there. It serves topics written without transactions and not
// compacted: a partition whose last offsets hold no record the follower
// is given (a transaction marker, a record compacted away) holds it until
// ctx ends. Before Run has started reading, it waits for that.
func (f *Follower) CatchUp(ctx context.Context) error {
	select {
	case <-f.ready: // Run sets cl before
	case <-ctx.Done():
		return fmt.Errorf("catch up %s: %w", f.topic, ctx.Err())
	}
	f.mu.Lock()
	cl := f.cl
	f.mu.Unlock()
	if cl == nil {
		return fmt.Errorf("catch up %s: not following", f.topic)
	}
	offs, err := kadm.NewClient(cl).ListEndOffsets(ctx, f.topic)
	if err == nil {
		err = offs.Error()
	}
	if err != nil {
		return fmt.Errorf("catch up %s: %w", f.topic, err)
	}
	for {
		f.mu.Lock()
		behind := false
		offs.Each(func(o kadm.ListedOffset) {
			behind = behind || f.next[o.Partition] < o.Offset
		})
		progress := f.progress
		f.mu.Unlock()
		if !behind {
			return nil
		}
		select {
		case <-progress:
		case <-ctx.Done():
			return fmt.Errorf("catch up %s: %w", f.topic, ctx.Err())
		}
	}
}

// endOffsets returns, per partition with records to read, the end offset
// to catch up to (the last stable offset: a read_committed consumer stops
// there), and per partition where reading starts.
func (f *Follower) endOffsets(ctx context.Context, cl *kgo.Client) (map[int32]int64, map[int32]int64, error) {
	for {
		adm := kadm.NewClient(cl)
		offs, err := adm.ListEndOffsets(ctx, f.topic)
		if err == nil {
			err = offs.Error()
		}
		starts := kadm.ListedOffsets{}
		if err == nil && !f.since.IsZero() {
			starts, err = adm.ListOffsetsAfterMilli(ctx, f.since.UnixMilli(), f.topic)
			if err == nil {
				err = starts.Error()
			}
		}
		if err == nil {
			ends, from := map[int32]int64{}, map[int32]int64{}
			offs.Each(func(o kadm.ListedOffset) {
				if s, ok := starts.Lookup(o.Topic, o.Partition); ok && s.Offset >= 0 {
					from[o.Partition] = s.Offset
				} else if !f.since.IsZero() {
					from[o.Partition] = o.Offset // nothing since: read from the end
				}
				if o.Offset > from[o.Partition] {
					ends[o.Partition] = o.Offset
				}
			})
			return ends, from, nil
		}
		f.log.Warn("follow: list end offsets", "err", err)
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
