package auth

import (
	"log/slog"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/internal/kafkatable"
	"github.com/rationhq/ration/schemas"
)

// Follower keeps a Registry current: it reads ration.clients from the
// start and then follows it (package kafkatable).
type Follower struct {
	*kafkatable.Follower
	reg   *Registry
	codec *schemas.Codec
	log   *slog.Logger
}

// NewFollower returns a follower that applies the topic to reg. opts reach
// the cluster (kafkaconn.Config.Opts); log may be nil. Ready is closed once
// it has caught up: before that the registry may lack clients.
func NewFollower(reg *Registry, codec *schemas.Codec, log *slog.Logger, opts ...kgo.Opt) *Follower {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	f := &Follower{reg: reg, codec: codec, log: log.With("component", "auth")}
	f.Follower = kafkatable.New(schemas.TopicClients, f.apply, f.log, opts...)
	return f
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
