package deadletter

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/internal/kafkaconn"
	"github.com/rationhq/ration/internal/kafkatest"
	"github.com/rationhq/ration/processor"
)

// The dead-letter topic of a stage and the input its records came from.
const (
	deadTopic  = "ration.t.check.dead"
	inputTopic = "ration.t.checks"
)

// deadRecord is what the runtime writes for a record it could not process.
func deadRecord(key string, offset int) *kgo.Record {
	return &kgo.Record{Topic: deadTopic, Key: []byte(key), Value: []byte("garbage " + key), Headers: []kgo.RecordHeader{
		{Key: "trace", Value: []byte("t-" + key)},
		{Key: processor.HeaderDeadStage, Value: []byte("check")},
		{Key: processor.HeaderDeadError, Value: []byte("cannot decode")},
		{Key: processor.HeaderDeadTopic, Value: []byte(inputTopic)},
		{Key: processor.HeaderDeadPartition, Value: []byte("1")},
		{Key: processor.HeaderDeadOffset, Value: []byte(strconv.Itoa(offset))},
		{Key: processor.HeaderDeadTime, Value: []byte(time.Now().UTC().Format(time.RFC3339Nano))},
	}}
}

// rig has three dead letters, two of them written in a transaction (as the
// runtime writes them, so the topic also holds transaction markers).
func rig(t *testing.T) (*kafkatest.Kafka, *Tool) {
	t.Helper()
	k := kafkatest.New(t, 2, kafkatest.Setup{Topics: []kafkaconn.TopicSpec{{Name: deadTopic}, {Name: inputTopic}}})
	ctx := context.Background()
	if err := k.Client.ProduceSync(ctx, deadRecord("a", 10)).FirstErr(); err != nil {
		t.Fatal(err)
	}
	tx, err := kgo.NewClient(kgo.SeedBrokers(k.Addrs()...), kgo.TransactionalID("stage"))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	if err := tx.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := tx.ProduceSync(ctx, deadRecord("b", 11), deadRecord("c", 12)).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := tx.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	tool, err := New([]kgo.Opt{kgo.SeedBrokers(k.Addrs()...)}, deadTopic)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tool.Close)
	return k, tool
}

func TestListShowsWhereAndWhy(t *testing.T) {
	_, tool := rig(t)
	letters, err := tool.List(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(letters) != 3 {
		t.Fatalf("%d letters, want 3: %+v", len(letters), letters)
	}
	for _, l := range letters {
		if l.Stage != "check" || l.Error != "cannot decode" || l.OriginalTopic != inputTopic || l.OriginalPartition != 1 || l.Time.IsZero() || string(l.Value) != "garbage "+l.Key {
			t.Fatalf("letter %+v", l)
		}
	}
	if few, err := tool.List(context.Background(), 2); err != nil || len(few) != 2 {
		t.Fatalf("limit 2: %d letters, %v", len(few), err)
	}
}

func TestReplaySendsOriginalsBackAndEmptiesTheTopic(t *testing.T) {
	k, tool := rig(t)
	ctx := context.Background()
	dry, err := tool.Replay(ctx, true)
	if err != nil || dry.Letters != 3 || dry.Replayed != 0 || dry.Purged != 0 || !dry.DryRun {
		t.Fatalf("dry run %+v, %v", dry, err)
	}
	if n := k.EndOffsets(t)[inputTopic]; n != 0 {
		t.Fatalf("a dry run sent %d records", n)
	}

	out, err := tool.Replay(ctx, false)
	if err != nil || out.Replayed != 3 || out.Purged != 3 {
		t.Fatalf("replay %+v, %v", out, err)
	}
	back := k.Read(t, inputTopic, 3)
	for _, r := range back {
		if string(r.Value) != "garbage "+string(r.Key) || len(r.Headers) != 1 || r.Headers[0].Key != "trace" {
			t.Fatalf("replayed %q %q headers %v: want the original record", r.Key, r.Value, r.Headers)
		}
	}
	if left, err := tool.List(ctx, 100); err != nil || len(left) != 0 {
		t.Fatalf("after replay %d letters left (%v)", len(left), err)
	}
}

func TestPurge(t *testing.T) {
	_, tool := rig(t)
	ctx := context.Background()
	if dry, err := tool.Purge(ctx, true); err != nil || dry.Letters != 3 || dry.Purged != 0 {
		t.Fatalf("dry run %+v, %v", dry, err)
	}
	if left, _ := tool.List(ctx, 100); len(left) != 3 {
		t.Fatalf("a dry run purged: %d left", len(left))
	}
	if out, err := tool.Purge(ctx, false); err != nil || out.Purged != 3 {
		t.Fatalf("purge %+v, %v", out, err)
	}
	if left, err := tool.List(ctx, 100); err != nil || len(left) != 0 {
		t.Fatalf("after purge %d letters left (%v)", len(left), err)
	}
}
