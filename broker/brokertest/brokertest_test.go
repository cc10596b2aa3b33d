package brokertest

import (
	"context"
	"testing"
	"time"

	"github.com/rationhq/ration/internal/kafkaconn"
	"github.com/rationhq/ration/schemas"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestNewServesKafkaAndTheRegistry(t *testing.T) {
	b := New(t)
	conn := b.KafkaConn()
	if err := conn.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(conn.Opts(nil)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := conn.EnsureTopics(ctx, cl, kafkaconn.SharedTopics()); err != nil {
		t.Fatalf("create ration's topics: %v", err)
	}
	if _, err := conn.Codec(ctx, schemas.Shared()); err != nil {
		t.Fatalf("register ration's schemas: %v", err)
	}
}
