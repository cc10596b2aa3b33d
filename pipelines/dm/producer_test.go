package dm

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rationhq/ration/internal/kafkatest"
	"github.com/rationhq/ration/schemas"
)

type rig struct {
	*kafkatest.Kafka
	dm *DM
}

func newRig(t *testing.T) *rig {
	t.Helper()
	k := kafkatest.New(t, 3)
	return &rig{Kafka: k, dm: NewDM(k.Client, k.Codec)}
}

func TestRegisterProducesOneUserPerID(t *testing.T) {
	r := newRig(t)
	at := time.Date(2025, 1, 2, 3, 4, 5, 678_901_234, time.UTC)
	r.dm.now = func() time.Time { return at }
	if err := r.dm.Register(context.Background(), []string{"a", "b", "c"}); err != nil {
		t.Fatal(err)
	}
	want := at.Truncate(time.Millisecond)
	seen := map[string]bool{}
	for _, rec := range r.Records(t, schemas.TopicDMUsers) {
		var u schemas.DMUser
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
	if offs := r.EndOffsets(t); offs[schemas.TopicDMChecks]+offs[schemas.TopicDMChecksHigh] != 0 {
		t.Fatalf("registration produced marks: %v", offs)
	}
}

func TestMarkPicksTopicByPriority(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	if err := r.dm.Mark(ctx, []string{"n1", "n2"}, schemas.PriorityNormal); err != nil {
		t.Fatal(err)
	}
	if err := r.dm.Mark(ctx, []string{"h1"}, schemas.PriorityHigh); err != nil {
		t.Fatal(err)
	}
	for topic, want := range map[string]schemas.Priority{schemas.TopicDMChecks: schemas.PriorityNormal, schemas.TopicDMChecksHigh: schemas.PriorityHigh} {
		n := 2
		if want == schemas.PriorityHigh {
			n = 1
		}
		recs := r.Records(t, topic)
		if len(recs) != n {
			t.Fatalf("%s: %d records, want %d", topic, len(recs), n)
		}
		for _, rec := range recs {
			var m schemas.DMMark
			if err := r.Codec.Decode(rec.Value, &m); err != nil {
				t.Fatal(err)
			}
			if m.Priority != want || string(rec.Key) != m.UserID || m.MarkedAt.IsZero() {
				t.Fatalf("%s: %+v key %q", topic, m, rec.Key)
			}
		}
	}
	if offs := r.EndOffsets(t); offs[schemas.TopicDMUsers] != 0 {
		t.Fatalf("a mark also registered: %v", offs)
	}
}

func TestMarkRejectsUnknownPriority(t *testing.T) {
	r := newRig(t)
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
	r := newRig(t)
	r.Cluster.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := r.dm.Register(ctx, []string{"a"}); err == nil {
		t.Fatal("register succeeded with the broker gone")
	}
}
