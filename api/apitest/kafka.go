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

// NewKafka starts a Kafka for t with the client registry's topic too, and
// two partitions per topic to keep API tests light. Everything closes when
// the test ends.
func NewKafka(t testing.TB) *Kafka {
	t.Helper()
	k := kafkatest.New(t, 2, kafkatest.Setup{})
	if err := auth.EnsureTopic(context.Background(), k.Client); err != nil {
		t.Fatal(err)
	}
	return k
}
