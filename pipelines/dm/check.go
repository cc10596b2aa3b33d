package dm

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

// check is the handler of the check stage: it asks the Checker about the
// user of one mark and returns the result. The runtime writes the status
// event (PROCESSED, or FAILED for a rejection) and retries a transient
// failure through its delay tiers.
type check struct {
	codec   *schemas.Codec
	checker Checker
	worker  string
	metrics *Metrics
	log     *slog.Logger
	level   slog.Level // of the line per checked item
	now     func() time.Time
}

var _ processor.Handler = (*check)(nil)

// Process checks the user of one mark, once. A transient failure is
// returned for the runtime to retry; a permanent one (the checker refused
// the user) is a failed result, and a rejection of the item.
func (c *check) Process(ctx context.Context, rec *kgo.Record, _ processor.State) ([]*kgo.Record, error) {
	var mark Mark
	if err := c.codec.Decode(rec.Value, &mark); err != nil {
		return nil, processor.Permanent(err)
	}
	attempt := processor.Attempt(rec)
	open, err := c.checker.Check(ctx, mark.UserID)
	c.metrics.attempt(err)
	if err != nil && !processor.IsPermanent(err) {
		if !errors.Is(err, processor.ErrTransient) {
			err = processor.Transient(err) // unmarked errors count as transient
		}
		return nil, err
	}
	result := &Result{
		UserID:    mark.UserID,
		Priority:  mark.Priority,
		MarkedAt:  mark.MarkedAt,
		CheckedAt: c.now(),
		Status:    ResultChecked,
		Attempts:  attempt,
		Worker:    c.worker,
	}
	// The item's logger is built only when a line is written: With costs
	// more than the rest of a check on the hot path.
	log := func() *slog.Logger {
		return c.log.With("user_id", mark.UserID, "topic", rec.Topic, "partition", rec.Partition, "offset", rec.Offset, "attempt", attempt)
	}
	if err != nil {
		result.Status = ResultFailed
		result.Error = err.Error()
		log().Log(ctx, max(c.level, slog.LevelInfo), "check failed for good", "err", err)
	} else {
		result.OpenDM = &open
		if c.log.Enabled(ctx, c.level) {
			log().Log(ctx, c.level, "checked", "open_dm", open)
		}
	}
	c.metrics.observe(result)

	v, eerr := c.codec.EncodeForKafka(result)
	if eerr != nil {
		return nil, fmt.Errorf("encode result: %w", eerr)
	}
	out := []*kgo.Record{{Topic: TopicResults, Key: []byte(mark.UserID), Value: v}}
	if err != nil {
		return out, processor.Reject(err)
	}
	return out, nil
}
