package bench

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/rationhq/ration/internal/kafkaconn"
	"github.com/rationhq/ration/internal/roles"
	"github.com/rationhq/ration/pipeline"
)

// inProcess is an in-process broker and schema registry with a pipeline's
// topics and the ceiling's copy topics, the roles' environment over them,
// and a producer: where a pipeline and its ceiling are timed in turn.
type inProcess struct {
	cluster *kfake.Cluster
	reg     *srfake.Registry
	env     *roles.Env
	seed    []kgo.Opt
	cl      *kgo.Client
}

func startInProcess(ctx context.Context, partitions int32, d pipeline.Descriptor) (*inProcess, error) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, copyTopic))
	if err != nil {
		return nil, err
	}
	b := &inProcess{cluster: cluster, reg: srfake.New()}
	kc := kafkaconn.Config{Brokers: cluster.ListenAddrs(), Registry: b.reg.URL(), Partitions: partitions}
	if b.env, err = roles.NewEnv(ctx, kc, []pipeline.Descriptor{d}, slog.New(slog.DiscardHandler), prometheus.NewRegistry()); err != nil {
		b.Close()
		return nil, err
	}
	b.seed = []kgo.Opt{kgo.SeedBrokers(kc.Brokers...)}
	if b.cl, err = kgo.NewClient(append(b.seed, kgo.ProducerLinger(5*time.Millisecond))...); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

func (b *inProcess) Close() {
	if b.cl != nil {
		b.cl.Close()
	}
	b.reg.Close()
	b.cluster.Close()
}
