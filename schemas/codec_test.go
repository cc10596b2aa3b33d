package schemas

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/linkedin/goavro/v2"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"
)

// testTopics are the shared topics plus two topics of events: one record
// type on two topics.
func testTopics() []TopicSchema {
	return append(Shared(), TopicSchema{"ration.a.events", new(Event)}, TopicSchema{"ration.b.events", new(Event)})
}

func newTestCodec(t *testing.T) (*Codec, *sr.Client) {
	t.Helper()
	reg := srfake.New()
	t.Cleanup(reg.Close)
	cl, err := sr.NewClient(sr.URLs(reg.URL()))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Register(context.Background(), cl, testTopics(), new(KeyBlock))
	if err != nil {
		t.Fatal(err)
	}
	return c, cl
}

func TestRoundTrip(t *testing.T) {
	c, _ := newTestCodec(t)
	now := time.UnixMilli(1_700_000_000_123).UTC()
	for _, tc := range []struct {
		name string
		in   Record
		out  Record
	}{
		{"event", &Event{ItemID: "u1", Pipeline: "dm", Stage: "check", Status: StatusSuccess, Attempt: 1, Worker: "w", SourceTopic: "t", SourcePartition: 3, SourceOffset: 9, Time: now}, new(Event)},
		{"client", &Client{Name: "c", Kind: ClientWorker, Scope: ScopeRead, Pipeline: "dm", CreatedAt: now}, new(Client)},
		{"audit", &Audit{Client: "c", Method: "POST", Route: "POST /v1/x", Status: 202, Time: now}, new(Audit)},
		{"key block", &KeyBlock{Seqs: []int{4, 7}, Tiers: []int{2, 0}, NextSeq: 8, ParkedItem: "cmd-1"}, new(KeyBlock)},
		{"reprocess state", &ReprocessState{Pipeline: "dm", ItemID: "u1", RetryCount: 2, SentAt: now, NotifiedAt: now}, new(ReprocessState)},
		{"reprocess state never sent", &ReprocessState{Pipeline: "dm", ItemID: "u1"}, new(ReprocessState)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := c.Encode(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if b[0] != 0 {
				t.Fatalf("magic byte = %d, want 0", b[0])
			}
			if err := c.Decode(b, tc.out); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(tc.in, tc.out) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", tc.out, tc.in)
			}
		})
	}
}

func TestSharedSchemaHasOneID(t *testing.T) {
	c, _ := newTestCodec(t)
	a, _ := c.SchemaID("ration.a.events")
	b, _ := c.SchemaID("ration.b.events")
	if a != b || a == 0 {
		t.Fatalf("ids a=%d b=%d, want one shared id", a, b)
	}
}

// TestRecordSubjects: a record type kept in a topic of mixed values (a
// changelog) is registered under its full name.
func TestRecordSubjects(t *testing.T) {
	_, cl := newTestCodec(t)
	ss, err := cl.SchemaByVersion(context.Background(), "ration.KeyBlock", -1)
	if err != nil || ss.Schema.Schema != new(KeyBlock).AvroSchema().Text() {
		t.Fatalf("subject ration.KeyBlock: %+v, %v", ss, err)
	}
}

func TestRegisterIsIdempotent(t *testing.T) {
	c, cl := newTestCodec(t)
	again, err := Register(context.Background(), cl, testTopics(), new(KeyBlock))
	if err != nil {
		t.Fatal(err)
	}
	for _, ts := range testTopics() {
		a, _ := c.SchemaID(ts.Topic)
		b, _ := again.SchemaID(ts.Topic)
		if a != b {
			t.Fatalf("%s: id %d then %d", ts.Topic, a, b)
		}
	}
}

func TestRegisterRefusesATopicTwice(t *testing.T) {
	_, cl := newTestCodec(t)
	twice := append(testTopics(), TopicSchema{TopicAudit, new(Audit)})
	if _, err := Register(context.Background(), cl, twice); err == nil {
		t.Fatal("a topic declared twice was accepted")
	}
}

func TestDecodeRejectsOtherType(t *testing.T) {
	c, _ := newTestCodec(t)
	b, err := c.Encode(&Audit{Client: "c", Method: "GET", Route: "r", Status: 200, Time: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Decode(b, new(Client)); !errors.Is(err, errOtherType) {
		t.Fatalf("decoding an audit record as a client: %v, want errOtherType", err)
	}
}

func FuzzDecode(f *testing.F) {
	reg := srfake.New()
	defer reg.Close()
	cl, _ := sr.NewClient(sr.URLs(reg.URL()))
	c, err := Register(context.Background(), cl, testTopics(), new(KeyBlock))
	if err != nil {
		f.Fatal(err)
	}
	seed, _ := c.Encode(&KeyBlock{Seqs: []int{1}, Tiers: []int{1}, NextSeq: 2})
	f.Add(seed)
	f.Add([]byte{0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = c.Decode(b, new(KeyBlock)) // must not panic
		_ = c.Decode(b, new(Event))
	})
}

// TestOlderVersionStillDecodes: a record written under an earlier version
// of its schema, one that lacks fields added since with defaults, decodes
// with those defaults once the codec registered the current version; new
// records are written under the current version.
func TestOlderVersionStillDecodes(t *testing.T) {
	reg := srfake.New()
	t.Cleanup(reg.Close)
	cl, err := sr.NewClient(sr.URLs(reg.URL()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	v1, err := os.ReadFile("testdata/older/reprocess_state.v1.avsc")
	if err != nil {
		t.Fatal(err)
	}
	old, err := cl.CreateSchema(ctx, TopicReprocessState+"-value", sr.Schema{Schema: string(v1), Type: sr.TypeAvro})
	if err != nil {
		t.Fatal(err)
	}
	oldCodec, err := goavro.NewCodec(string(v1))
	if err != nil {
		t.Fatal(err)
	}
	sent := time.UnixMilli(1_700_000_000_123).UTC()
	body, err := oldCodec.BinaryFromNative(nil, map[string]any{"pipeline": "dm", "item_id": "u1", "retry_count": int32(2),
		"sent_at": sent, "failed_at": time.UnixMilli(0), "notified_at": time.UnixMilli(0)})
	if err != nil {
		t.Fatal(err)
	}
	written := append(binary.BigEndian.AppendUint32([]byte{0}, uint32(old.ID)), body...)

	c, err := Register(ctx, cl, Shared())
	if err != nil {
		t.Fatal(err)
	}
	id, _ := c.SchemaID(TopicReprocessState)
	if id == old.ID {
		t.Fatalf("the current schema kept the old id %d", id)
	}
	var got ReprocessState
	if err := c.Decode(written, &got); err != nil {
		t.Fatalf("a record of the older version: %v", err)
	}
	want := ReprocessState{Pipeline: "dm", ItemID: "u1", RetryCount: 2, SentAt: sent}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decoded %+v, want %+v", got, want)
	}
	b, err := c.Encode(&want)
	if err != nil {
		t.Fatal(err)
	}
	if int(binary.BigEndian.Uint32(b[1:5])) != id {
		t.Fatalf("written under id %d, want the current %d", binary.BigEndian.Uint32(b[1:5]), id)
	}
}

// TestIncompatibleSchemaRefusesToStart: a schema that cannot read what the
// subject's latest registered version wrote (here, fields in another
// order) stops Register, naming the subject and the rule, before anything
// is registered or written under it.
func TestIncompatibleSchemaRefusesToStart(t *testing.T) {
	reg := srfake.New()
	t.Cleanup(reg.Close)
	cl, err := sr.NewClient(sr.URLs(reg.URL()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := cl.CreateSchema(ctx, TopicReprocessState+"-value", sr.Schema{Schema: reorderedState, Type: sr.TypeAvro}); err != nil {
		t.Fatal(err)
	}
	_, err = Register(ctx, cl, Shared())
	if err == nil || !strings.Contains(err.Error(), TopicReprocessState+"-value") || !strings.Contains(err.Error(), "append fields") {
		t.Fatalf("Register over an incompatible latest version: %v, want a refusal naming the subject and the rule", err)
	}
	if vs, err := cl.Schemas(ctx, TopicReprocessState+"-value"); err != nil || len(vs) != 1 {
		t.Fatalf("versions after the refusal: %d, %v; want the one there was", len(vs), err)
	}
}

// reorderedState is a ReprocessState schema whose fields are not the
// current one's first ones.
const reorderedState = `{"type": "record", "name": "ReprocessState", "namespace": "ration", "fields": [
		{"name": "item_id", "type": "string"}, {"name": "pipeline", "type": "string"}]}`

// TestIncompatibleOlderVersionIsNotDecoded: an earlier version (not the
// latest) whose fields are not the current ones' first ones cannot be read
// by the hand-written decoder, and its records stay undecodable instead of
// decoding wrong.
func TestIncompatibleOlderVersionIsNotDecoded(t *testing.T) {
	reg := srfake.New()
	t.Cleanup(reg.Close)
	cl, err := sr.NewClient(sr.URLs(reg.URL()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	old, err := cl.CreateSchema(ctx, TopicReprocessState+"-value", sr.Schema{Schema: reorderedState, Type: sr.TypeAvro})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.CreateSchema(ctx, TopicReprocessState+"-value", sr.Schema{Schema: new(ReprocessState).AvroSchema().Text(), Type: sr.TypeAvro}); err != nil {
		t.Fatal(err)
	}
	c, err := Register(ctx, cl, Shared())
	if err != nil {
		t.Fatal(err)
	}
	written := append(binary.BigEndian.AppendUint32([]byte{0}, uint32(old.ID)), 0x04, 'u', '1', 0x04, 'd', 'm')
	if err := c.Decode(written, new(ReprocessState)); err == nil || !strings.Contains(err.Error(), "earlier version") {
		t.Fatalf("a record of an incompatible older version: %v, want an error naming the version", err)
	}
}

// TestEncodeForKafkaKeepsEveryValue: values carved from shared chunks are
// the bytes Encode makes, and encoding more (past a chunk's end, with a
// value larger than a chunk among them) never changes one handed out
// before.
func TestEncodeForKafkaKeepsEveryValue(t *testing.T) {
	c, _ := newTestCodec(t)
	event := func(i int) *Event {
		e := &Event{ItemID: fmt.Sprintf("u%d", i), Pipeline: "dm", Stage: "check", Status: StatusSuccess, Attempt: 1, Time: time.UnixMilli(int64(i)).UTC()}
		if i%500 == 7 {
			e.Error = strings.Repeat("x", chunkSize) // bigger than any chunk
		}
		return e
	}
	const n = 5_000 // several chunks
	got := make([][]byte, n)
	for i := range got {
		b, err := c.EncodeForKafka(event(i))
		if err != nil {
			t.Fatal(err)
		}
		got[i] = b
	}
	for i, b := range got {
		want, err := c.Encode(event(i))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, want) {
			t.Fatalf("value %d changed after later encodes", i)
		}
		if cap(b) != len(b) {
			t.Fatalf("value %d has room past its end (cap %d, len %d): an append would write into the next", i, cap(b), len(b))
		}
	}
}
