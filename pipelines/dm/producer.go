package dm

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/schemas"
)

// ErrBadPriority is returned by Mark for a priority that is neither normal
// nor high; nothing is produced.
var ErrBadPriority = errors.New("dm: unknown priority")

// Producer produces the records the DM API accepts: registrations of
// users and marks asking for a user to be checked, keyed by user id. A
// call returns only after Kafka acknowledged every record of it, so a
// caller that answers "accepted" only on a nil error never acknowledges
// work that could still be lost (the kgo client keeps franz-go's
// idempotent writes with acks=all). It is safe for concurrent use.
type Producer struct {
	cl    *kgo.Client
	codec *schemas.Codec
	now   func() time.Time
}

// NewProducer returns a Producer producing with cl and encoding with codec.
// The caller owns cl and closes it after the last call returned.
func NewProducer(cl *kgo.Client, codec *schemas.Codec) *Producer {
	return &Producer{cl: cl, codec: codec, now: time.Now}
}

// Register produces one User per id to TopicUsers.
func (d *Producer) Register(ctx context.Context, ids []string) error {
	at := d.stamp()
	return d.produce(ctx, TopicUsers, at, ids, func(id string) schemas.Record {
		return &User{UserID: id, RegisteredAt: at}
	})
}

// Mark produces one Mark per id to TopicChecksHigh (p high) or
// TopicChecks (p normal). A mark does not also register the user: whoever
// reads the topics treats a marked user as known.
func (d *Producer) Mark(ctx context.Context, ids []string, p Priority) error {
	var topic string
	switch p {
	case PriorityNormal:
		topic = TopicChecks
	case PriorityHigh:
		topic = TopicChecksHigh
	default:
		return fmt.Errorf("%w %q", ErrBadPriority, p)
	}
	at := d.stamp()
	return d.produce(ctx, topic, at, ids, func(id string) schemas.Record {
		return &Mark{UserID: id, Priority: p, MarkedAt: at}
	})
}

// stamp is the time of a call, cut to the millisecond that Avro's
// timestamp-millis keeps, so the record's timestamp and its field agree.
func (d *Producer) stamp() time.Time {
	return d.now().UTC().Truncate(time.Millisecond)
}

// produce encodes every record before producing any, so an encoding
// failure produces nothing, then waits for Kafka to acknowledge all of
// them. On a failure some records may have been written (Kafka has no
// multi-partition atomicity outside transactions); callers answer with an
// error and the client retries, which is harmless for registrations and
// marks alike (a repeated mark is one more check of the same user).
func (d *Producer) produce(ctx context.Context, topic string, at time.Time, ids []string, rec func(string) schemas.Record) error {
	if len(ids) == 0 {
		return nil
	}
	recs := make([]*kgo.Record, len(ids))
	for i, id := range ids {
		v, err := d.codec.Encode(rec(id))
		if err != nil {
			return fmt.Errorf("dm: encode %s for %s: %w", topic, id, err)
		}
		recs[i] = &kgo.Record{Topic: topic, Key: []byte(id), Value: v, Timestamp: at}
	}
	if err := d.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return fmt.Errorf("dm: produce %d records to %s: %w", len(recs), topic, err)
	}
	return nil
}
