package dm

import (
	"context"
	"errors"
	"testing"
	"time"
)

type producerRig struct {
	*rig
	dm *Producer
}

func newProducerRig(t *testing.T) *producerRig {
	t.Helper()
	r := newRig(t, 3)
	return &producerRig{rig: r, dm: NewProducer(r.Client, r.Codec)}
}

func TestRegisterProducesOneUserPerID(t *testing.T) {
	r := newProducerRig(t)
	at := time.Date(2025, 1, 2, 3, 4, 5, 678_901_234, time.UTC)
	r.dm.now = func() time.Time { return at }
	if err := r.dm.Register(context.Background(), []string{"a", "b", "c"}); err != nil {
		t.Fatal(err)
	}
	want := at.Truncate(time.Millisecond)
	seen := map[string]bool{}
	for _, rec := range r.Records(t, TopicUsers) {
		var u User
		if err := r.Codec.Decode(rec.Value, &u); err != nil {
			t.Fatal(err)
		}
		if string(rec.Key) != u.UserID || !u.RegisteredAt.Equal(want) || !rec.Timestamp.Equal(want) {
			t.Fatalf("record key=%q user=%+v ts=%v, want key=user id, time %v", rec.Key, u, rec.Timestamp, want)
		}
		seen[u.UserID] = true
	}
	if len(seen) != 3 {
		t.Fatalf("users %v, want a b c", seen)
	}
	if offs := r.EndOffsets(t); offs[TopicChecks]+offs[TopicChecksHigh] != 0 {
		t.Fatalf("registration produced marks: %v", offs)
	}
}

func TestMarkPicksTopicByPriority(t *testing.T) {
	r := newProducerRig(t)
	ctx := context.Background()
	if err := r.dm.Mark(ctx, []string{"n1", "n2"}, PriorityNormal); err != nil {
		t.Fatal(err)
	}
	if err := r.dm.Mark(ctx, []string{"h1"}, PriorityHigh); err != nil {
		t.Fatal(err)
	}
	for topic, want := range map[string]Priority{TopicChecks: PriorityNormal, TopicChecksHigh: PriorityHigh} {
		n := 2
		if want == PriorityHigh {
			n = 1
		}
		recs := r.Records(t, topic)
		if len(recs) != n {
			t.Fatalf("%s: %d records, want %d", topic, len(recs), n)
		}
		for _, rec := range recs {
			var m Mark
			if err := r.Codec.Decode(rec.Value, &m); err != nil {
				t.Fatal(err)
			}
			if m.Priority != want || string(rec.Key) != m.UserID || m.MarkedAt.IsZero() {
				t.Fatalf("%s: %+v key %q", topic, m, rec.Key)
			}
		}
	}
	if offs := r.EndOffsets(t); offs[TopicUsers] != 0 {
		t.Fatalf("a mark also registered: %v", offs)
	}
}

func TestMarkRejectsUnknownPriority(t *testing.T) {
	r := newProducerRig(t)
	if err := r.dm.Mark(context.Background(), []string{"a"}, "urgent"); !errors.Is(err, ErrBadPriority) {
		t.Fatalf("err = %v, want ErrBadPriority", err)
	}
	for topic, n := range r.EndOffsets(t) {
		if n != 0 {
			t.Fatalf("%s has %d records", topic, n)
		}
	}
}

func TestProduceFailureIsReported(t *testing.T) {
	r := newProducerRig(t)
	r.Cluster.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := r.dm.Register(ctx, []string{"a"}); err == nil {
		t.Fatal("register succeeded with the broker gone")
	}
}
