package producer

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/schemas"
)

// Audit writes audit events to schemas.TopicAudit, keyed by client name,
// and waits for Kafka to acknowledge each (RP-7: the request it describes
// is answered only once it is recorded). An event Kafka does not take is
// logged at ERROR with everything it holds, so the log keeps what the
// topic could not.
type Audit struct {
	cl    *kgo.Client
	codec *schemas.Codec
	log   *slog.Logger
}

// NewAudit returns an Audit producing with cl; log may be nil.
func NewAudit(cl *kgo.Client, codec *schemas.Codec, log *slog.Logger) *Audit {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Audit{cl: cl, codec: codec, log: log.With("component", "audit")}
}

// Audit produces a and returns once Kafka acknowledged it, or with why it
// did not, at the latest when ctx ends.
func (p *Audit) Audit(ctx context.Context, a schemas.Audit) error {
	v, err := p.codec.Encode(&a)
	if err == nil {
		err = p.produce(ctx, &kgo.Record{Topic: schemas.TopicAudit, Key: []byte(a.Client), Value: v})
	}
	if err != nil {
		p.log.Error("audit event not written", "client", a.Client, "method", a.Method, "route", a.Route,
			"target", a.Target, "status", a.Status, "time", a.Time, "err", err)
		return fmt.Errorf("audit event: %w", err)
	}
	return nil
}

// produce waits for r's acknowledgement until ctx ends. The client fails a
// record whose context ended only between tries, and a retriable error
// can hold it for seconds more; the caller has a deadline to keep. A
// record still in the client then may yet be written.
func (p *Audit) produce(ctx context.Context, r *kgo.Record) error {
	done := make(chan error, 1)
	p.cl.Produce(ctx, r, func(_ *kgo.Record, err error) { done <- err })
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
