package kafkatable_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/internal/kafkaconn"
	"github.com/rationhq/ration/internal/kafkatable"
	"github.com/rationhq/ration/internal/kafkatest"
)

const topic = "follow-test"

func newKafka(t *testing.T) *kafkatest.Kafka {
	t.Helper()
	return kafkatest.New(t, 3, kafkatest.Setup{Topics: []kafkaconn.TopicSpec{{Name: topic}}})
}

func produce(t *testing.T, k *kafkatest.Kafka, keys ...string) {
	t.Helper()
	for _, key := range keys {
		if err := k.Client.ProduceSync(context.Background(), &kgo.Record{Topic: topic, Key: []byte(key)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCatchUpWaitsForWhatWasWritten: CatchUp returns only once every
// record written before it was called is applied; while one of them is
// held in apply, it waits until its context ends.
func TestCatchUpWaitsForWhatWasWritten(t *testing.T) {
	k := newKafka(t)
	var (
		mu      sync.Mutex
		applied []string
	)
	gate := make(chan struct{})
	f := kafkatable.New(topic, func(r *kgo.Record) {
		if string(r.Key) == "held" {
			<-gate
		}
		mu.Lock()
		applied = append(applied, string(r.Key))
		mu.Unlock()
	}, nil, kgo.SeedBrokers(k.Addrs()...))
	kafkatest.RunFollower(t, f)
	produce(t, k, "a", "held", "b", "c")

	short, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := f.CatchUp(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("CatchUp with a record held in apply: %v, want the context's deadline", err)
	}
	close(gate)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(applied)
	if want := []string{"a", "b", "c", "held"}; !slices.Equal(applied, want) {
		t.Fatalf("applied %v when CatchUp returned, want %v", applied, want)
	}
}

// TestCatchUpSinceWaitsForNothingOlder: a follower of the topic's recent
// past catches up without the records before its start.
func TestCatchUpSinceWaitsForNothingOlder(t *testing.T) {
	k := newKafka(t)
	produce(t, k, "old-1", "old-2", "old-3")
	f := kafkatable.New(topic, func(r *kgo.Record) {
		t.Errorf("applied %s, written before the follower's start", r.Key)
	}, nil, kgo.SeedBrokers(k.Addrs()...)).Since(time.Now().Add(time.Second))
	kafkatest.RunFollower(t, f)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
}
