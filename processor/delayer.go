package processor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// delayer returns the records of one delay tier to the input partitions
// they came from once they are due. It is a consumer group of its own
// (the stage's group plus ".delay.<tier>") and moves records in
// transactions, so a record returns exactly once. Its waiting happens
// between transactions.
//
// Records of a tier partition are due in the order they were written
// (each is due a fixed delay after it was written), so a batch is due
// when its last record is: the delayer waits for that, then moves the
// batch. A record may thus wait up to one batch's spread longer than its
// tier's delay.
type delayer struct {
	stage *Stage
	tier  int
	delay time.Duration
	topic string
	log   *slog.Logger
}

func (d *delayer) group() string {
	return d.stage.cfg.Group + ".delay." + strconv.Itoa(d.tier)
}

func (d *delayer) transactionalID() string {
	return d.stage.cfg.TransactionalIDPrefix + "delay." + strconv.Itoa(d.tier) + "." + d.stage.cfg.InstanceID
}

// member is the delayer as a group member: its own group, and records go
// back to the partition they came from, whatever partitioner wrote them
// there first.
func (d *delayer) member() member {
	c := d.stage.cfg
	return member{
		kind: "delayer", name: "delay tier " + strconv.Itoa(d.tier), group: d.group(), log: d.log,
		opts: func() []kgo.Opt {
			opts := append(slices.Clone(d.stage.deps.Kafka), c.memberOpts(d.group(), d.transactionalID(), nil, d.topic)...)
			return append(opts, kgo.RecordPartitioner(kgo.ManualPartitioner()))
		},
		step: d.step,
	}
}

func (d *delayer) step(ctx context.Context, sess *kgo.GroupTransactSession) error {
	fetches := sess.PollRecords(ctx, d.stage.cfg.MaxPollRecords)
	if fetches.IsClientClosed() || ctx.Err() != nil {
		return nil
	}
	recs := fetches.Records()
	if len(recs) == 0 {
		return nil
	}
	var due time.Time
	for _, r := range recs {
		due = maxTime(due, dueTime(r))
	}
	if wait := time.Until(due); wait > 0 {
		d.log.Debug("waiting for a batch to be due", "records", len(recs), "wait", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil // the records were not moved; the next owner moves them
		case <-t.C:
		}
	}

	if err := sess.Begin(); err != nil {
		return fmt.Errorf("%w: begin transaction: %w", errFenced, err)
	}
	work, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.stage.cfg.TransactionTimeout)
	defer cancel()
	outs := make([][]*kgo.Record, len(recs))
	for i, r := range recs {
		back, err := returned(r)
		if err != nil {
			// Written by ration itself, so this is a bug or tampering:
			// the record cannot go anywhere sensible.
			d.log.Error("dropping a delayed record without an origin", "partition", r.Partition, "offset", r.Offset, "err", err)
			continue
		}
		outs[i] = []*kgo.Record{back}
	}
	commit := d.stage.produce(work, sess, outs) == nil && work.Err() == nil
	committed, _, err := d.stage.endTransaction(ctx, sess, commit, d.log, len(recs)) // a delayer keeps no state
	if committed {
		d.log.Debug("returned delayed records", "records", len(recs))
		d.stage.deps.Metrics.countRecords(d.stage.labels, d.topic, "returned", len(recs))
	}
	return err
}

// dueTime is when a delayed record may return; the zero time if it does
// not say.
func dueTime(r *kgo.Record) time.Time {
	for _, h := range r.Headers {
		if h.Key == HeaderRetryDue {
			if ms, err := strconv.ParseInt(string(h.Value), 10, 64); err == nil {
				return time.UnixMilli(ms)
			}
		}
	}
	return time.Time{}
}

// returned is the copy of a delayed record that goes back to its input
// partition; it keeps the tier and attempt headers, which tell the stage
// where it has been.
func returned(r *kgo.Record) (*kgo.Record, error) {
	out := &kgo.Record{Key: r.Key, Value: r.Value, Partition: -1}
	for _, h := range r.Headers {
		switch h.Key {
		case HeaderRetryTopic:
			out.Topic = string(h.Value)
		case HeaderRetryPartition:
			p, err := strconv.ParseInt(string(h.Value), 10, 32)
			if err != nil {
				return nil, fmt.Errorf("bad %s header: %w", HeaderRetryPartition, err)
			}
			out.Partition = int32(p)
		case HeaderRetryDue:
		default:
			out.Headers = append(out.Headers, h)
		}
	}
	if out.Topic == "" || out.Partition < 0 {
		return nil, errors.New("no origin headers")
	}
	return out, nil
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
