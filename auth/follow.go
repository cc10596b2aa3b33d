package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/schemas"
)

// followFetchWait caps how long a fetch waits for new records: it is the
// delay after which a registration or revocation made elsewhere applies
// here (Kafka's own default is 5 s).
const followFetchWait = 500 * time.Millisecond

// Follower keeps a Registry current: it reads ration.clients from the
// start and then follows it.
type Follower struct {
	reg   *Registry
	codec *schemas.Codec
	opts  []kgo.Opt
	log   *slog.Logger
	ready chan struct{}
}

// NewFollower returns a follower that applies the topic to reg. opts reach
// the cluster (kafkaconn.Config.Opts); log may be nil.
func NewFollower(reg *Registry, codec *schemas.Codec, log *slog.Logger, opts ...kgo.Opt) *Follower {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Follower{reg: reg, codec: codec, opts: opts, log: log.With("component", "auth"), ready: make(chan struct{})}
}

// Ready is closed once the follower has applied every record that was in
// the topic when it started: before that the registry may lack clients.
func (f *Follower) Ready() <-chan struct{} { return f.ready }

// Run follows the topic until ctx ends, then returns nil.
func (f *Follower) Run(ctx context.Context) error {
	opts := append([]kgo.Opt{
		kgo.ConsumeTopics(schemas.TopicClients),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(followFetchWait),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
	}, f.opts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("auth: follower: %w", err)
	}
	defer cl.Close()
	ends, err := f.endOffsets(ctx, cl)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
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
				f.log.Warn("client registry fetch error", "topic", topic, "partition", p, "err", err)
			}
		})
		fs.EachRecord(func(r *kgo.Record) {
			f.apply(r)
			if ends != nil && r.Offset+1 >= ends[r.Partition] {
				delete(ends, r.Partition)
			}
		})
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

// idleAfter is how long a follower that has not caught up waits for a
// record before it concludes there is none left: several fetch waits.
const idleAfter = 4 * followFetchWait

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

// endOffsets returns, per non-empty partition, the end offset to catch up
// to (the last stable offset: a read_committed consumer stops there).
func (f *Follower) endOffsets(ctx context.Context, cl *kgo.Client) (map[int32]int64, error) {
	for {
		offs, err := kadm.NewClient(cl).ListEndOffsets(ctx, schemas.TopicClients)
		if err == nil {
			err = offs.Error()
		}
		if err == nil {
			ends := map[int32]int64{}
			offs.Each(func(o kadm.ListedOffset) {
				if o.Offset > 0 {
					ends[o.Partition] = o.Offset
				}
			})
			return ends, nil
		}
		f.log.Warn("client registry: list end offsets", "err", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func (f *Follower) apply(r *kgo.Record) {
	name := string(r.Key)
	if r.Value == nil {
		f.reg.Remove(name)
		return
	}
	var c schemas.Client
	if err := f.codec.Decode(r.Value, &c); err != nil {
		f.log.Error("client registry: record skipped", "partition", r.Partition, "offset", r.Offset, "err", err)
		return
	}
	if c.Name != name {
		f.log.Error("client registry: record key and name differ; skipped", "partition", r.Partition, "offset", r.Offset)
		return
	}
	f.reg.Apply(c)
}
