package receipttype_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/internal/kafkaconn"
	"github.com/rationhq/ration/internal/kafkatest"
	"github.com/rationhq/ration/pipelines/receipts/receipttype"
	"github.com/rationhq/ration/schemas"
)

const typesTopic = "test.receipt.types"

// follow runs a registry's follower of the types topic until the test
// ends, and returns the registry once it has caught up.
func follow(t *testing.T, k *kafkatest.Kafka) *receipttype.Registry {
	t.Helper()
	reg := receipttype.NewRegistry()
	f := reg.Follow(typesTopic, k.Codec, nil, kgo.SeedBrokers(k.Addrs()...))
	kafkatest.RunFollower(t, f)
	return reg
}

func putType(t *testing.T, k *kafkatest.Kafka, name string, doc []byte) {
	t.Helper()
	rec := &kgo.Record{Topic: typesTopic, Key: []byte(name)}
	if doc != nil {
		v, err := k.Codec.Encode(&receipttype.Record{Name: name, Document: string(doc), UpdatedAt: time.Now(), UpdatedBy: "admin"})
		if err != nil {
			t.Fatal(err)
		}
		rec.Value = v
	}
	if err := k.Client.ProduceSync(context.Background(), rec).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// TestTypesReachEveryFollower: types put, changed and deleted on the
// topic are in force on two followers, one of them started after the
// first put (it reads the topic from its start); a record that does not
// compile leaves its type out rather than keeping an older one.
func TestTypesReachEveryFollower(t *testing.T) {
	k := kafkatest.New(t, 1, kafkatest.Setup{
		Topics:  []kafkaconn.TopicSpec{{Name: typesTopic, Compact: true}},
		Records: []schemas.Record{new(receipttype.Record)},
		Schemas: []schemas.TopicSchema{{Topic: typesTopic, Value: new(receipttype.Record)}},
	})
	retail, err := os.ReadFile(filepath.Join(samples, "types", "retail.json"))
	if err != nil {
		t.Fatal(err)
	}
	a := follow(t, k)
	putType(t, k, "retail", retail)
	b := follow(t, k)
	has := func(r *receipttype.Registry, name string) func() bool {
		return func() bool { _, ok := r.Get(name); return ok }
	}
	for name, r := range map[string]*receipttype.Registry{"a": a, "b": b} {
		awaitChange(t, r, "retail on "+name, has(r, "retail"))
	}
	e, _ := b.Get("retail")
	if e.UpdatedBy != "admin" || e.Document.Description == "" {
		t.Errorf("entry %+v", e)
	}

	putType(t, k, "retail", []byte(`{"schema": {"type": 12}}`)) // broken: leaves retail out
	putType(t, k, "fuel", retail)
	for name, r := range map[string]*receipttype.Registry{"a": a, "b": b} {
		awaitChange(t, r, "fuel in and the broken retail out on "+name, func() bool {
			return has(r, "fuel")() && !has(r, "retail")()
		})
	}
	putType(t, k, "fuel", nil)
	for name, r := range map[string]*receipttype.Registry{"a": a, "b": b} {
		awaitChange(t, r, "fuel deleted on "+name, func() bool { return len(r.List()) == 0 })
	}
}

// awaitChange waits, within the 5 s a change may take to reach every API
// process, until cond holds on r.
func awaitChange(t *testing.T, r *receipttype.Registry, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		ch := r.Changed()
		if cond() {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("not within 5 s: %s", what)
		}
	}
}
