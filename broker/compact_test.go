package broker

import (
	"fmt"
	"testing"

	"github.com/rationhq/ration/internal/kafkaread"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestCompactionStopsAtOpenTransactions: compaction cleans only below the
// last stable offset, as Kafka's cleaner does. A key whose newer value
// sits in a transaction still open keeps its committed value; once that
// transaction aborts, the committed value is what a read_committed reader
// (a stage restoring its state from a changelog) finds.
func TestCompactionStopsAtOpenTransactions(t *testing.T) {
	b := start(t, testConfig())
	ctx := testCtx(t)
	const topic = "changelog"
	adm := newClient(t, b)
	resp, err := kadm.NewClient(adm).CreateTopic(ctx, 1, -1, map[string]*string{"cleanup.policy": kadm.StringPtr("compact")}, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatal(err)
	}
	txn := func(id string) *kgo.Client {
		cl := newClient(t, b, kgo.TransactionalID(id))
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		return cl
	}
	committed := txn("first")
	produce(t, committed, &kgo.Record{Topic: topic, Key: []byte("k"), Value: []byte("committed")})
	if err := committed.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	open := txn("second")
	produce(t, open, &kgo.Record{Topic: topic, Key: []byte("k"), Value: []byte("aborted")})
	// More batches after the open one, so that it is not the partition's
	// last batch, which compaction always keeps.
	produce(t, adm, &kgo.Record{Topic: topic, Key: []byte("other"), Value: []byte("1")},
		&kgo.Record{Topic: topic, Key: []byte("other"), Value: []byte("2")})
	produce(t, adm, &kgo.Record{Topic: topic, Key: []byte("other"), Value: []byte("3")})

	read := func() map[string][]string { // key -> its values, read committed
		got := make(map[string][]string)
		if err := kafkaread.ToEnd(ctx, b.KafkaConn().Opts(nil), map[string][]int32{topic: nil}, func(r *kgo.Record) error {
			got[string(r.Key)] = append(got[string(r.Key)], string(r.Value))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}

	b.Cluster().Compact()
	if err := open.EndTransaction(ctx, kgo.TryAbort); err != nil {
		t.Fatal(err)
	}
	got := read()
	if k := got["k"]; len(k) != 1 || k[0] != "committed" {
		t.Fatalf("after compaction and the abort, k is %q, want [committed] (all: %v)", k, got)
	}
	// Past the open transaction nothing was cleaned: "other", written
	// after it, keeps its superseded values until a compaction with
	// nothing open.
	if n := len(got["other"]); n != 3 {
		t.Fatalf("other has %d values, want its 3 (written after the open transaction)", n)
	}
	b.Cluster().Compact()
	got = read()
	if fmt.Sprint(got) != "map[k:[committed] other:[3]]" {
		t.Fatalf("after a compaction with nothing open: %v, want k [committed] and other [3]", got)
	}
}
