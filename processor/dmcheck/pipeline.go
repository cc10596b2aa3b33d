package dmcheck

import (
	"context"
	"errors"
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
	metrics *Metrics
	log     *slog.Logger
	level   slog.Level // of the line per checked item
	now     func() time.Time
}

var _ processor.Handler = (*Pipeline)(nil)

// Process checks the user of one mark, once, and returns its result and
// status event. A transient failure is returned for the runtime to retry
// through its delay tiers; a permanent one (the checker refused the user)
// is a FAILED result at once.
func (p *Pipeline) Process(ctx context.Context, rec *kgo.Record) ([]*kgo.Record, error) {
	var mark schemas.DMMark
	if err := p.codec.Decode(rec.Value, &mark); err != nil {
		return nil, processor.Permanent(err)
	}
	attempt := processor.Attempt(rec)
	open, err := p.checker.Check(ctx, mark.UserID)
	p.metrics.attempt(err)
	if err != nil && !processor.IsPermanent(err) {
		if !errors.Is(err, processor.ErrTransient) {
			err = processor.Transient(err) // unmarked errors count as transient
		}
		return nil, err
	}
	now := p.now()
	result := &schemas.DMResult{
		UserID:    mark.UserID,
		Priority:  mark.Priority,
		MarkedAt:  mark.MarkedAt,
		CheckedAt: now,
		Status:    schemas.ResultChecked,
		Attempts:  attempt,
		Worker:    p.worker,
	}
	event := &schemas.Event{
		ItemID: mark.UserID, Pipeline: PipelineName, Stage: StageName,
		Status: schemas.StatusProcessed, Attempt: attempt, RetryCount: processor.RetryCount(rec), Worker: p.worker,
		SourceTopic: rec.Topic, SourcePartition: rec.Partition, SourceOffset: rec.Offset,
		Time: now,
	}
	// The item's logger is built only when a line is written: With costs
	// more than the rest of a check on the hot path.
	log := func() *slog.Logger {
		return p.log.With("user_id", mark.UserID, "topic", rec.Topic, "partition", rec.Partition, "offset", rec.Offset, "attempt", attempt)
	}
	if err != nil {
		result.Status = schemas.ResultFailed
		result.Error = err.Error()
		event.Status = schemas.StatusFailed
		event.ErrorClass = processor.Class(err)
		event.Error = err.Error()
		log().Log(ctx, max(p.level, slog.LevelInfo), "check failed for good", "err", err)
	} else {
		result.OpenDM = &open
		if p.log.Enabled(ctx, p.level) {
			log().Log(ctx, p.level, "checked", "open_dm", open)
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
