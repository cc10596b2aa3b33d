// Package pipelinetest starts what a test of a pipeline needs: an
// in-process Kafka with the pipeline's topics and schemas.
package pipelinetest

import (
	"testing"

	"github.com/rationhq/ration/internal/kafkatest"
	"github.com/rationhq/ration/pipeline"
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
