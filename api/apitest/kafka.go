package apitest

import (
	"context"
	"testing"

	"github.com/rationhq/ration/auth"
	"github.com/rationhq/ration/internal/kafkatest"
)

// Kafka is an in-process broker with ration's topics, a producing client
// and a codec registered with an in-process schema registry.
type Kafka = kafkatest.Kafka

// NewKafka starts a Kafka for t with the shared topics, the client
// registry's topic, and the topics and schemas of setups: a pipeline's
// are pipelinetest.Setup(d), which callers pass in because apitest cannot
// import the pipelines (they import package api, whose tests use
// apitest). Two partitions per topic keep API tests light. Everything
// closes when the test ends.
func NewKafka(t testing.TB, setups ...kafkatest.Setup) *Kafka {
	t.Helper()
	var s kafkatest.Setup
	for _, x := range setups {
		s.Topics = append(s.Topics, x.Topics...)
		s.Schemas = append(s.Schemas, x.Schemas...)
		s.Records = append(s.Records, x.Records...)
	}
	k := kafkatest.New(t, 2, s)
	if err := auth.EnsureTopic(context.Background(), k.Client); err != nil {
		t.Fatal(err)
	}
	return k
}
