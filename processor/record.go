package processor

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/schemas"
)

// processRecord runs the handler on one record and routes what came of
// it: its outputs and a status event; a permanent failure to the
// dead-letter topic; with retries, a transient failure to the next delay
// tier (or the parked topic after the last), and a record of a key that
// has older records waiting behind them.
func (s *Stage) processRecord(ctx context.Context, rec *kgo.Record, batch *batchState) ([]*kgo.Record, outcome, error) {
	m := readRetryMeta(rec)
	item := ItemID(rec)
	if s.cfg.Retry == nil {
		if m.giveUp {
			return nil, outcomeDropped, nil
		}
		out, oc, err := s.try(ctx, rec, m, item, batch)
		if err != nil {
			return nil, oc, err // transient without retries: the batch aborts
		}
		return out, oc, nil
	}

	loops := batch.bucket(rec.Partition, retryPrefix)
	var (
		loop keyLoop
		err  error
	)
	if !batch.none(rec.Partition, retryPrefix) {
		loop, err = readLoop(loops, s.deps.Codec, loopKey(rec.Topic, rec.Key), s.rules.tiers)
		if err != nil {
			return nil, outcomeDone, err
		}
	}
	save := func() error { return writeLoop(loops, s.deps.Codec, loopKey(rec.Topic, rec.Key), loop) }

	act, seq, tier := s.rules.admit(&loop, m, item)
	switch act {
	case actDrop:
		s.log.Debug("ignoring a give-up notice for an item that holds nothing", "item", item, "topic", rec.Topic, "offset", rec.Offset)
		return nil, outcomeDropped, nil
	case actRelease:
		s.log.Warn("the reprocessor gave up on the parked item; its key's later items go on", "item", item, "key", string(rec.Key))
		return nil, outcomeReleased, save()
	case actWait:
		s.log.Debug("record waits behind an older one of its key", "key", string(rec.Key), "topic", rec.Topic,
			"partition", rec.Partition, "offset", rec.Offset, "tier", tier)
		wait := toTier(s.cfg.Retry.DelayTopics[tier-1], tier, s.cfg.Retry.Delays[tier-1], rec, seq, m.attempts, nil, time.Now())
		return []*kgo.Record{wait}, outcomeWaiting, save()
	}

	out, oc, herr := s.try(ctx, rec, m, item, batch)
	if herr == nil {
		if seq >= 0 {
			err = save() // it left the loop
		}
		return out, oc, err
	}
	if ctx.Err() != nil {
		return nil, outcomeDone, herr // stopping or out of time: the batch aborts
	}

	// A transient failure: the n-th try waits in tier n, and after the
	// last tier the item is parked. It stays the oldest of its key.
	attempts := m.attempts + 1
	now := time.Now()
	seq, parked := s.rules.failed(&loop, seq, attempts, item)
	if err := save(); err != nil {
		return nil, outcomeDone, err
	}
	log := s.log.With("key", string(rec.Key), "item", item, "topic", rec.Topic, "partition", rec.Partition, "offset", rec.Offset, "attempt", attempts, "err", herr)
	if parked {
		log.Error("attempts exhausted; parking the item for the reprocessor", "parked_topic", s.cfg.Retry.ParkedTopic, "holds_key", s.rules.hold)
		// The original's retry headers said where it waited; the parked
		// copy says how often it was tried.
		plain := *rec
		plain.Headers = withoutHeaders(rec.Headers, "ration.retry.")
		p := deadLetter(s.cfg.Retry.ParkedTopic, s.cfg.Name, &plain, herr, now)
		p.Headers = append(p.Headers, kgo.RecordHeader{Key: HeaderRetryAttempts, Value: []byte(strconv.Itoa(attempts))})
		ev, err := s.event(rec, item, schemas.StatusReprocess, attempts, m.retryCount, herr, now)
		return []*kgo.Record{p, ev}, outcomeParked, err
	}
	delay := s.cfg.Retry.Delays[attempts-1]
	log.Error("transient failure; retrying after a delay", "tier", attempts, "delay", delay)
	ev, err := s.event(rec, item, schemas.StatusError, attempts, m.retryCount, herr, now)
	wait := toTier(s.cfg.Retry.DelayTopics[attempts-1], attempts, delay, rec, seq, attempts, herr, now)
	return []*kgo.Record{wait, ev}, outcomeDelayed, err
}

// try hands rec to the handler. A success or a rejection returns its
// outputs with their status event; a permanent failure its dead letter
// and FAILED event; a transient failure the handler's error, with the
// try's state changes undone.
func (s *Stage) try(ctx context.Context, rec *kgo.Record, m retryMeta, item string, batch *batchState) ([]*kgo.Record, outcome, error) {
	var trial *bucketState
	var st State
	if s.cfg.State {
		trial = batch.newTrial(rec.Partition, handlerPrefix)
		st = trial
	}
	out, err := s.h.Process(ctx, rec, st)
	now := time.Now()
	attempt := m.attempts + 1
	switch {
	case err == nil:
		status := schemas.StatusSuccess
		if s.cfg.Last {
			status = schemas.StatusProcessed
		}
		out = s.carry(rec, out)
		ev, eerr := s.event(rec, item, status, attempt, m.retryCount, nil, now)
		return appendEvent(out, ev), outcomeDone, eerr
	case errors.Is(err, ErrDuplicate):
		if trial != nil {
			trial.rollback()
		}
		s.log.Warn("item repeats one taken before; left out", "item", item, "topic", rec.Topic, "partition", rec.Partition, "offset", rec.Offset, "reason", err)
		return nil, outcomeDuplicate, nil
	case Class(err) == "rejected":
		s.log.Info("item rejected", "item", item, "topic", rec.Topic, "partition", rec.Partition, "offset", rec.Offset, "reason", err)
		out = s.carry(rec, out)
		ev, eerr := s.event(rec, item, schemas.StatusFailed, attempt, m.retryCount, err, now)
		return appendEvent(out, ev), outcomeRejected, eerr
	}
	if trial != nil {
		trial.rollback()
	}
	if !IsPermanent(err) {
		return nil, outcomeDone, err
	}
	// Bad data fails at once: no retry could mend it.
	ev, eerr := s.event(rec, item, schemas.StatusFailed, attempt, m.retryCount, err, now)
	return appendEvent(s.dead(rec, err), ev), outcomeDead, eerr
}

func appendEvent(out []*kgo.Record, ev *kgo.Record) []*kgo.Record {
	if ev == nil {
		return out
	}
	return append(out, ev)
}

// carry copies the item's id and retry count onto outputs that do not
// set their own, so the next stage's events name the same item.
func (s *Stage) carry(rec *kgo.Record, out []*kgo.Record) []*kgo.Record {
	var carried []kgo.RecordHeader
	for _, h := range rec.Headers {
		if h.Key == HeaderItem || h.Key == HeaderRetryCount {
			carried = append(carried, h)
		}
	}
	if len(carried) == 0 {
		return out
	}
	for _, o := range out {
		for _, h := range carried {
			if !hasHeader(o, h.Key) {
				o.Headers = append(o.Headers, h)
			}
		}
	}
	return out
}

func hasHeader(r *kgo.Record, key string) bool {
	for _, h := range r.Headers {
		if h.Key == key {
			return true
		}
	}
	return false
}

// dead returns the dead letter of a record that failed permanently, or
// nothing if the stage has no dead-letter topic.
func (s *Stage) dead(r *kgo.Record, err error) []*kgo.Record {
	if s.cfg.DeadLetterTopic == "" {
		s.log.Error("record skipped", "topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "err", err)
		return nil
	}
	s.log.Error("record sent to the dead-letter topic", "topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "dead_letter_topic", s.cfg.DeadLetterTopic, "err", err)
	return []*kgo.Record{deadLetter(s.cfg.DeadLetterTopic, s.cfg.Name, r, err, time.Now())}
}

// event is the status event of an item the stage touched; nil for a
// stage without an events topic (a view). It is keyed like its record, so
// it lands in the record's bucket.
func (s *Stage) event(rec *kgo.Record, item string, status schemas.Status, attempt, retryCount int, cause error, now time.Time) (*kgo.Record, error) {
	if s.cfg.EventsTopic == "" {
		return nil, nil
	}
	e := &schemas.Event{
		ItemID: item, Pipeline: s.cfg.Pipeline, Stage: s.cfg.Name,
		Status: status, Attempt: attempt, RetryCount: retryCount, Worker: s.cfg.InstanceID,
		SourceTopic: rec.Topic, SourcePartition: rec.Partition, SourceOffset: rec.Offset,
		Time: now,
	}
	if cause != nil {
		e.ErrorClass, e.Error = Class(cause), cause.Error()
	}
	v, err := s.deps.Codec.EncodeForKafka(e)
	if err != nil {
		return nil, fmt.Errorf("encode event: %w", err)
	}
	return &kgo.Record{Topic: s.cfg.EventsTopic, Key: rec.Key, Value: v}, nil
}
