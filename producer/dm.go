// Package producer is ration's write path into Kafka: it turns requests that
// the HTTP API has already validated into Avro records (Confluent wire
// format) on ration's topics, keyed by the item's business id so that every
// record of one item lands in one partition (one bucket).
//
// A call returns only after Kafka acknowledged every record of it, so a
// caller that answers "accepted" only on a nil error never acknowledges work
// that could still be lost. That relies on the kgo client keeping
// franz-go's defaults of idempotent writes with acks=all; NewDM does not
// change the client's options.
package producer

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
var ErrBadPriority = errors.New("producer: unknown priority")

// DM produces the records of the DM-check flow: registrations of users and
// marks asking for a user to be checked. It is safe for concurrent use.
type DM struct {
	cl    *kgo.Client
	codec *schemas.Codec
	now   func() time.Time
}

// NewDM returns a DM producing with cl and encoding with codec. The caller
// owns cl and closes it after the last call returned.
func NewDM(cl *kgo.Client, codec *schemas.Codec) *DM {
	return &DM{cl: cl, codec: codec, now: time.Now}
}

// Register produces one schemas.DMUser per id to schemas.TopicDMUsers.
func (d *DM) Register(ctx context.Context, ids []string) error {
	at := d.stamp()
	return d.produce(ctx, schemas.TopicDMUsers, at, ids, func(id string) schemas.Record {
		return &schemas.DMUser{UserID: id, RegisteredAt: at}
	})
}

// Mark produces one schemas.DMMark per id to schemas.TopicDMChecksHigh (p
// high) or schemas.TopicDMChecks (p normal). A mark does not also register
// the user: whoever reads the topics treats a marked user as known.
func (d *DM) Mark(ctx context.Context, ids []string, p schemas.Priority) error {
	var topic string
	switch p {
	case schemas.PriorityNormal:
		topic = schemas.TopicDMChecks
	case schemas.PriorityHigh:
		topic = schemas.TopicDMChecksHigh
	default:
		return fmt.Errorf("%w %q", ErrBadPriority, p)
	}
	at := d.stamp()
	return d.produce(ctx, topic, at, ids, func(id string) schemas.Record {
		return &schemas.DMMark{UserID: id, Priority: p, MarkedAt: at}
	})
}

// stamp is the time of a call, cut to the millisecond that Avro's
// timestamp-millis keeps, so the record's timestamp and its field agree.
func (d *DM) stamp() time.Time {
	return d.now().UTC().Truncate(time.Millisecond)
}

// produce encodes every record before producing any, so an encoding
// failure produces nothing, then waits for Kafka to acknowledge all of
// them. On a failure some records may have been written (Kafka has no
// multi-partition atomicity outside transactions); callers answer with an
// error and the client retries, which is harmless for registrations and
// marks alike (a repeated mark is one more check of the same user).
func (d *DM) produce(ctx context.Context, topic string, at time.Time, ids []string, rec func(string) schemas.Record) error {
	if len(ids) == 0 {
		return nil
	}
	recs := make([]*kgo.Record, len(ids))
	for i, id := range ids {
		v, err := d.codec.Encode(rec(id))
		if err != nil {
			return fmt.Errorf("producer: encode %s for %s: %w", topic, id, err)
		}
		recs[i] = &kgo.Record{Topic: topic, Key: []byte(id), Value: v, Timestamp: at}
	}
	if err := d.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return fmt.Errorf("producer: produce %d records to %s: %w", len(recs), topic, err)
	}
	return nil
}
