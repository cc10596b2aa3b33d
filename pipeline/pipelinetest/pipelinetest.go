// Package pipelinetest starts what a test of a pipeline needs: an
// in-process Kafka with the pipeline's topics and schemas.
package pipelinetest

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/internal/kafkatest"
	"github.com/rationhq/ration/pipeline"
	"github.com/rationhq/ration/processor"
	"github.com/rationhq/ration/schemas"
)

// Setup is what kafkatest creates for ds: their topics and schemas.
func Setup(ds ...pipeline.Descriptor) kafkatest.Setup {
	var s kafkatest.Setup
	for _, d := range ds {
		s.Topics = append(s.Topics, d.TopicSpecs()...)
		s.Schemas = append(s.Schemas, d.TopicSchemas()...)
		s.Records = append(s.Records, d.StateRecords...)
	}
	return s
}

// Kafka starts an in-process Kafka with the topics of ds, partitions
// partitions each.
func Kafka(t testing.TB, partitions int32, ds ...pipeline.Descriptor) *kafkatest.Kafka {
	t.Helper()
	return kafkatest.New(t, partitions, Setup(ds...))
}

// StartWorker runs a worker of d's stages (nil: all) on the Kafka at
// addrs until t ends, as instance, with a session timeout of 3 s so a
// test's rebalances are quick; a worker that fails fails t.
func StartWorker(t testing.TB, d pipeline.Descriptor, stages []string, addrs []string, codec *schemas.Codec, instance string) {
	t.Helper()
	StartWorkerWith(t, d, stages, []kgo.Opt{kgo.SeedBrokers(addrs...)}, codec, instance)
}

// StartWorkerWith is StartWorker with the Kafka client options given
// whole (a SASL user, say).
func StartWorkerWith(t testing.TB, d pipeline.Descriptor, stages []string, kafka []kgo.Opt, codec *schemas.Codec, instance string) {
	t.Helper()
	tuning := processor.DefaultTuning()
	tuning.InstanceID = instance
	tuning.SessionTimeout = 3 * time.Second
	ws, err := d.NewStages(stages, tuning, processor.Deps{Kafka: kafka, Codec: codec}, pipeline.Env{Codec: codec})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, len(ws))
	for _, w := range ws {
		go func() { done <- w.Run(ctx) }()
	}
	t.Cleanup(func() {
		cancel()
		for range ws {
			if err := <-done; err != nil {
				t.Errorf("worker %s: %v", instance, err)
			}
		}
	})
}
