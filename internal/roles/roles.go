// Package roles builds ration's roles from the pipelines' descriptors:
// what `ration dev` runs in one process, and what each of `ration worker`,
// `ration sink`, `ration api` and `ration reprocess` runs alone. A role is
// wired here once, so the two can never drift apart.
package roles

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/api"
	"github.com/rationhq/ration/deadletter"
	"github.com/rationhq/ration/internal/kafkaconn"
	"github.com/rationhq/ration/notify"
	"github.com/rationhq/ration/pipeline"
	"github.com/rationhq/ration/processor"
	"github.com/rationhq/ration/reprocess"
	"github.com/rationhq/ration/schemas"
	"github.com/rationhq/ration/sink"
)

// Env is what every role of a process shares: the pipelines, where Kafka
// is, the codec of every schema, the metrics registry and the logger.
type Env struct {
	Pipelines []pipeline.Descriptor
	Kafka     kafkaconn.Config
	Codec     *schemas.Codec
	Log       *slog.Logger
	Registry  *prometheus.Registry
	Telemetry *kafkaconn.Telemetry
}

// NewEnv registers every pipeline's schemas (and the shared ones) and
// creates every topic that is missing. A Kafka user that may not create
// topics (a registered worker) relies on the admin having done it.
func NewEnv(ctx context.Context, kafka kafkaconn.Config, ds []pipeline.Descriptor, log *slog.Logger, reg *prometheus.Registry) (*Env, error) {
	if err := kafka.Validate(); err != nil {
		return nil, err
	}
	for _, d := range ds {
		if err := d.Validate(); err != nil {
			return nil, err
		}
	}
	topics, records := pipeline.Schemas(ds)
	codec, err := kafka.Codec(ctx, topics, records...)
	if err != nil {
		return nil, fmt.Errorf("schemas: %w", err)
	}
	e := &Env{Pipelines: ds, Kafka: kafka, Codec: codec, Log: log, Registry: reg, Telemetry: kafkaconn.NewTelemetry(reg)}
	if err := e.ensureTopics(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *Env) ensureTopics(ctx context.Context) error {
	cl, err := kgo.NewClient(e.Kafka.Opts(e.Log)...)
	if err != nil {
		return err
	}
	defer cl.Close()
	err = e.Kafka.EnsureTopics(ctx, cl, pipeline.AllTopicSpecs(e.Pipelines))
	if errors.Is(err, kerr.TopicAuthorizationFailed) || errors.Is(err, kerr.ClusterAuthorizationFailed) {
		e.Log.Debug("not allowed to create topics; the admin creates them", "user", e.Kafka.User, "err", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("topics: %w", err)
	}
	return nil
}

// Pipeline returns the descriptor called name.
func (e *Env) Pipeline(name string) (pipeline.Descriptor, error) {
	i := slices.IndexFunc(e.Pipelines, func(d pipeline.Descriptor) bool { return d.Name == name })
	if i < 0 {
		names := make([]string, len(e.Pipelines))
		for j, d := range e.Pipelines {
			names[j] = d.Name
		}
		return pipeline.Descriptor{}, fmt.Errorf("no pipeline %q (pipelines: %v)", name, names)
	}
	return e.Pipelines[i], nil
}

// Workers returns one worker of each of the stages of pipeline name (all,
// if none are named), sharing metrics with every other worker of the
// process.
func (e *Env) Workers(name string, stages []string, t processor.Tuning) ([]*processor.Stage, error) {
	d, err := e.Pipeline(name)
	if err != nil {
		return nil, err
	}
	if len(stages) == 0 {
		stages = d.StageNames()
	}
	metrics := e.stageMetrics()
	var out []*processor.Stage
	for _, stage := range stages {
		// One client id, and so one set of client metrics, per stage.
		deps := processor.Deps{
			Kafka:    e.Kafka.Opts(e.Log),
			Measured: e.Telemetry.ClientOpts("ration-" + name + "-" + stage + "-" + t.InstanceID),
			Log:      e.Log,
			Metrics:  metrics,
			Codec:    e.Codec,
		}
		ws, err := d.NewStages([]string{stage}, t, deps, pipeline.Env{Codec: e.Codec, Log: e.Log, Registry: e.Registry})
		if err != nil {
			return nil, err
		}
		out = append(out, ws...)
	}
	return out, nil
}

// stageMetrics is the process's one processor.Metrics.
func (e *Env) stageMetrics() *processor.Metrics {
	return processor.NewMetrics(e.Registry)
}

// Sink returns the sink of every pipeline's tables.
func (e *Env) Sink(cfg sink.Config) (*sink.Sink, error) {
	return sink.New(cfg, pipeline.SinkLayout(e.Pipelines), e.Kafka, e.Codec, e.Log, e.Registry, e.Telemetry.ClientOpts("ration-sink")...)
}

// Reader opens the shared tables' reader (migrating every pipeline's
// tables first, so it answers before a sink ran), waiting for ClickHouse
// while it is not there.
func (e *Env) Reader(ctx context.Context, t sink.Target) (*sink.Reader, error) {
	return sink.WaitReader(ctx, t, e.Log, pipeline.SinkLayout(e.Pipelines).Migrations...)
}

// Reprocessor returns the reprocessor of every pipeline, reading its
// candidates through reader and notifying as cfg says.
func (e *Env) Reprocessor(cfg reprocess.Config, reader ration.ItemStatusReader, worker string) (*reprocess.Reprocessor, error) {
	n, err := notify.New(cfg.Notify, e.Log)
	if err != nil {
		return nil, err
	}
	return reprocess.New(cfg, reprocess.Deps{
		Kafka: e.Kafka.Opts(e.Log), Codec: e.Codec, Items: reader, Notifier: n, Log: e.Log, Worker: worker,
		Metrics: reprocess.NewMetrics(e.Registry), Pipelines: reprocessPipelines(e.Pipelines),
	})
}

// DeadLetters returns the dead-letter tools of every stage and the parked
// items' of every stage with retries, in stage order, and a function that
// closes them.
func (e *Env) DeadLetters() ([]api.DeadLetterSet, func(), error) {
	var out []api.DeadLetterSet
	var tools []*deadletter.Tool
	closeAll := func() {
		for _, t := range tools {
			t.Close()
		}
	}
	add := func(k ration.DeadLetterKey, topic string) error {
		t, err := deadletter.New(e.Kafka.Opts(e.Log), topic)
		if err != nil {
			return err
		}
		tools = append(tools, t)
		out = append(out, api.DeadLetterSet{Key: k, Letters: t})
		return nil
	}
	for _, d := range e.Pipelines {
		for _, s := range d.Stages {
			if err := add(ration.DeadLetterKey{Pipeline: d.Name, Stage: s.Name}, d.DeadTopic(s.Name)); err != nil {
				closeAll()
				return nil, nil, err
			}
			if s.Retry == nil {
				continue
			}
			if err := add(ration.DeadLetterKey{Pipeline: d.Name, Stage: s.Name, Parked: true}, d.ParkedTopic(s.Name)); err != nil {
				closeAll()
				return nil, nil, err
			}
		}
	}
	return out, closeAll, nil
}
