package dmcheck

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/processor"
	"github.com/rationhq/ration/schemas"
)

// Pipeline names used in status events.
const (
	PipelineName = schemas.PipelineDM
	StageName    = "check"
)

// Pipeline is the processor.Handler of the DM-check stage.
type Pipeline struct {
	codec   *schemas.Codec
	checker Checker
	worker  string
	retries int
	backoff time.Duration
	metrics *Metrics
	log     *slog.Logger
	now     func() time.Time
}

var _ processor.Handler = (*Pipeline)(nil)

// Process checks the user of one mark, retrying a failed check in place,
// and returns its result and status event.
func (p *Pipeline) Process(ctx context.Context, rec *kgo.Record) ([]*kgo.Record, error) {
	var mark schemas.DMMark
	if err := p.codec.Decode(rec.Value, &mark); err != nil {
		return nil, processor.Permanent(err)
	}
	// The item's logger is built only when a line is written: With costs
	// more than the rest of a check on the hot path.
	log := func() *slog.Logger {
		return p.log.With("user_id", mark.UserID, "topic", rec.Topic, "partition", rec.Partition, "offset", rec.Offset)
	}

	open, attempts, err := p.check(ctx, log, mark.UserID)
	if err != nil && ctx.Err() != nil {
		return nil, err // stopping: the batch aborts and the mark is checked again
	}
	now := p.now()
	result := &schemas.DMResult{
		UserID:    mark.UserID,
		Priority:  mark.Priority,
		MarkedAt:  mark.MarkedAt,
		CheckedAt: now,
		Status:    schemas.ResultChecked,
		Attempts:  attempts,
		Worker:    p.worker,
	}
	event := &schemas.Event{
		ItemID: mark.UserID, Pipeline: PipelineName, Stage: StageName,
		Status: schemas.StatusSuccess, Attempt: attempts, Worker: p.worker,
		SourceTopic: rec.Topic, SourcePartition: rec.Partition, SourceOffset: rec.Offset,
		Time: now,
	}
	if err != nil {
		result.Status = schemas.ResultFailed
		result.Error = err.Error()
		event.Status = schemas.StatusFailed
		event.ErrorClass = processor.Class(err)
		event.Error = err.Error()
		log().Info("check failed", "attempts", attempts, "err", err)
	} else {
		result.OpenDM = &open
		if p.log.Enabled(ctx, slog.LevelDebug) {
			log().Debug("checked", "open_dm", open, "attempts", attempts)
		}
	}
	p.metrics.observe(result)

	resultValue, err := p.codec.Encode(result)
	if err != nil {
		return nil, fmt.Errorf("encode result: %w", err)
	}
	eventValue, err := p.codec.Encode(event)
	if err != nil {
		return nil, fmt.Errorf("encode event: %w", err)
	}
	key := []byte(mark.UserID)
	return []*kgo.Record{
		{Topic: schemas.TopicDMResults, Key: key, Value: resultValue},
		{Topic: schemas.TopicEvents, Key: key, Value: eventValue},
	}, nil
}

// check asks the checker up to 1+retries times with exponential backoff;
// a permanent error is not retried.
func (p *Pipeline) check(ctx context.Context, log func() *slog.Logger, userID string) (open bool, attempts int, err error) {
	wait := p.backoff
	for attempts = 1; ; attempts++ {
		open, err = p.checker.Check(ctx, userID)
		p.metrics.attempt(err)
		if err == nil || attempts > p.retries || ctx.Err() != nil || processor.IsPermanent(err) {
			return open, attempts, err
		}
		log().Error("check failed; retrying", "attempt", attempts, "backoff", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return false, attempts, ctx.Err()
		case <-t.C:
		}
		wait *= 2
	}
}
