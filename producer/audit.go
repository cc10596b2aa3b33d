package producer

import (
	"context"
	"log/slog"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/schemas"
)

// Audit writes audit events to schemas.TopicAudit, keyed by client name.
// It does not wait for Kafka: the request it describes is already
// answered. A record Kafka refuses is logged (without its content beyond
// client and route) and dropped.
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

// Audit produces a.
func (p *Audit) Audit(ctx context.Context, a schemas.Audit) {
	v, err := p.codec.Encode(&a)
	if err != nil {
		p.log.Error("audit event not encoded", "client", a.Client, "route", a.Route, "err", err)
		return
	}
	r := &kgo.Record{Topic: schemas.TopicAudit, Key: []byte(a.Client), Value: v}
	// The request's context ends with the request; the record outlives it.
	p.cl.Produce(context.WithoutCancel(ctx), r, func(_ *kgo.Record, err error) {
		if err != nil {
			p.log.Error("audit event lost", "client", a.Client, "route", a.Route, "status", a.Status, "err", err)
		}
	})
}
