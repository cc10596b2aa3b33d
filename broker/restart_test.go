package broker

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestRestartKeepsState writes every kind of state a role relies on,
// restarts the broker on the same data dir and checks each one.
func TestRestartKeepsState(t *testing.T) {
	cfg := testConfig()
	cfg.DataDir = t.TempDir()
	b1 := start(t, cfg)
	cl := newClient(t, b1, kgo.DefaultProduceTopic("plain"))
	createTopic(t, cl, "plain", 3)
	createTopic(t, cl, "txn", 2)

	var plain []*kgo.Record
	for i := range 10 {
		plain = append(plain, &kgo.Record{Key: fmt.Appendf(nil, "k%d", i), Value: fmt.Appendf(nil, "v%d", i)})
	}
	produce(t, cl, plain...)

	tx := newClient(t, b1, kgo.TransactionalID("restart-test"), kgo.DefaultProduceTopic("txn"),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	transact(t, tx, kgo.TryCommit, "committed-0", "committed-1", "committed-2")
	transact(t, tx, kgo.TryAbort, "aborted-0", "aborted-1")
	// A committed end marker on each partition tells a reader that
	// everything before it has been read.
	transact(t, tx, kgo.TryCommit, "end-0", "end-1")

	// A consumer group that reads everything and commits, then leaves.
	grp := newClient(t, b1, kgo.ConsumerGroup("restart-group"), kgo.ConsumeTopics("plain"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
	ctx := testCtx(t)
	for n := 0; n < len(plain); {
		fs := grp.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("group consume: %v", ctx.Err())
		}
		n += len(fs.Records())
	}
	if err := grp.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatalf("commit: %v", err)
	}
	grp.Close()

	srcl := newRegistryClient(t, b1)
	a := register(t, srcl, "a-value", schemaA)
	bb := register(t, srcl, "b-value", schemaB)
	reused := register(t, srcl, "a2-value", schemaA) // srfake reuses a's id

	kafkaAddr, registryURL := b1.KafkaAddr(), b1.RegistryURL()
	tx.Close()
	cl.Close()
	if err := b1.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}

	b2 := start(t, cfg)
	adm := kadm.NewClient(newClient(t, b2))

	t.Run("addresses", func(t *testing.T) {
		if b2.KafkaAddr() != kafkaAddr || b2.RegistryURL() != registryURL {
			t.Fatalf("restarted at kafka=%s registry=%s, was kafka=%s registry=%s", b2.KafkaAddr(), b2.RegistryURL(), kafkaAddr, registryURL)
		}
	})
	t.Run("topics and partition counts", func(t *testing.T) {
		td, err := adm.ListTopics(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		for topic, want := range map[string]int{"plain": 3, "txn": 2, SchemasTopic: 1} {
			if got := len(td[topic].Partitions); got != want {
				t.Errorf("topic %s: %d partitions, want %d", topic, got, want)
			}
		}
	})
	t.Run("records", func(t *testing.T) {
		got := values(consumeAll(t, b2, "plain", len(plain)))
		want := values(plain)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("records %v, want %v", got, want)
		}
	})
	t.Run("transactions read committed", func(t *testing.T) {
		cl := newClient(t, b2, kgo.ConsumeTopics("txn"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.FetchIsolationLevel(kgo.ReadCommitted()))
		ctx := testCtx(t)
		var got []string
		for ends := 0; ends < 2; {
			fs := cl.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("read committed: got %v before the end markers: %v", got, ctx.Err())
			}
			for _, r := range fs.Records() {
				if v := string(r.Value); strings.HasPrefix(v, "end-") {
					ends++
				} else {
					got = append(got, v)
				}
			}
		}
		slices.Sort(got)
		if want := []string{"committed-0", "committed-1", "committed-2"}; !slices.Equal(got, want) {
			t.Fatalf("read committed %v, want %v", got, want)
		}
	})
	t.Run("group offsets", func(t *testing.T) {
		offs, err := adm.FetchOffsets(testCtx(t), "restart-group")
		if err == nil {
			err = offs.Error()
		}
		if err != nil {
			t.Fatal(err)
		}
		var sum int64
		offs.Each(func(o kadm.OffsetResponse) { sum += o.At })
		if sum != int64(len(plain)) {
			t.Fatalf("committed offsets sum to %d, want %d", sum, len(plain))
		}
	})
	t.Run("schema ids", func(t *testing.T) {
		srcl := newRegistryClient(t, b2)
		for _, ss := range []struct {
			id     int
			schema string
		}{{a.ID, schemaA}, {bb.ID, schemaB}, {reused.ID, schemaA}} {
			got, err := srcl.SchemaByID(testCtx(t), ss.id)
			if err != nil {
				t.Fatalf("schema %d: %v", ss.id, err)
			}
			if got.Schema != ss.schema {
				t.Fatalf("schema %d is %s, want %s", ss.id, got.Schema, ss.schema)
			}
		}
		again := register(t, srcl, "a2-value", schemaA)
		if again.ID != reused.ID || again.Version != reused.Version {
			t.Fatalf("re-registering a2-value gave id %d version %d, want id %d version %d", again.ID, again.Version, reused.ID, reused.Version)
		}
		fresh := register(t, srcl, "c-value", schemaC)
		if fresh.ID == a.ID || fresh.ID == bb.ID {
			t.Fatalf("new schema got id %d, already used by a (%d) or b (%d)", fresh.ID, a.ID, bb.ID)
		}
	})
}

// transact produces values to the client's default topic in one
// transaction and ends it with commit; value i goes to partition i%2.
func transact(t *testing.T, cl *kgo.Client, commit kgo.TransactionEndTry, values ...string) {
	t.Helper()
	ctx := testCtx(t)
	if err := cl.BeginTransaction(); err != nil {
		t.Fatalf("begin: %v", err)
	}
	for i, v := range values {
		r := kgo.StringRecord(v)
		r.Partition = int32(i % 2)
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatalf("produce in transaction: %v", err)
		}
	}
	if err := cl.EndTransaction(ctx, commit); err != nil {
		t.Fatalf("end transaction: %v", err)
	}
}

func values(recs []*kgo.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = string(r.Value)
	}
	return out
}
