package schemas

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/linkedin/goavro/v2"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"
)

func newTestCodec(t *testing.T) (*Codec, *sr.Client) {
	t.Helper()
	reg := srfake.New()
	t.Cleanup(reg.Close)
	cl, err := sr.NewClient(sr.URLs(reg.URL()))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Register(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	return c, cl
}

func TestRoundTrip(t *testing.T) {
	c, _ := newTestCodec(t)
	now := time.UnixMilli(1_700_000_000_123).UTC()
	yes := true
	for _, tc := range []struct {
		name string
		in   Record
		out  Record
	}{
		{"user", &DMUser{UserID: "u1", RegisteredAt: now}, new(DMUser)},
		{"mark", &DMMark{UserID: "u1", Priority: PriorityHigh, MarkedAt: now}, new(DMMark)},
		{"result open", &DMResult{UserID: "u1", Priority: PriorityNormal, MarkedAt: now, CheckedAt: now, Status: ResultChecked, OpenDM: &yes, Attempts: 1, Worker: "w"}, new(DMResult)},
		{"result failed", &DMResult{UserID: "u1", Priority: PriorityNormal, MarkedAt: now, CheckedAt: now, Status: ResultFailed, Attempts: 4, Worker: "w", Error: "boom"}, new(DMResult)},
		{"key block", &KeyBlock{Seqs: []int{4, 7}, Tiers: []int{2, 2}, NextSeq: 8}, new(KeyBlock)},
		{"reprocess state", &ReprocessState{Pipeline: "dm", ItemID: "u1", RetryCount: 2, SentAt: now, NotifiedAt: now}, new(ReprocessState)},
		{"reprocess state never sent", &ReprocessState{Pipeline: "dm", ItemID: "u1"}, new(ReprocessState)},
		{"reprocess state given up", &ReprocessState{Pipeline: "dm", ItemID: "u1", RetryCount: 3, SentAt: now, FailedAt: now,
			Stage: "check", Error: "checker: connection refused"}, new(ReprocessState)},
		{"event", &Event{ItemID: "u1", Pipeline: "dm", Stage: "check", Status: StatusSuccess, Attempt: 1, Worker: "w", SourceTopic: "t", SourcePartition: 3, SourceOffset: 9, Time: now}, new(Event)},
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
	normal, _ := c.SchemaID(TopicDMChecks)
	high, _ := c.SchemaID(TopicDMChecksHigh)
	if normal != high || normal == 0 {
		t.Fatalf("ids normal=%d high=%d, want one shared id", normal, high)
	}
}

func TestRetryTopicsHaveSchemas(t *testing.T) {
	c, _ := newTestCodec(t)
	mark, _ := c.SchemaID(TopicDMChecks)
	// Delay and parked topics carry the original mark bytes.
	for _, topic := range append(DMDelayTopics(MaxDelayTiers), TopicDMParked) {
		if id, err := c.SchemaID(topic); err != nil || id != mark {
			t.Errorf("%s: id %d, %v; want the mark's id %d", topic, id, err, mark)
		}
	}
	if _, err := c.SchemaID(DelayTopic(PipelineDM, MaxDelayTiers+1)); !errors.Is(err, ErrUnknownTopic) {
		t.Errorf("tier %d: err %v, want ErrUnknownTopic", MaxDelayTiers+1, err)
	}
	normal, err := c.SchemaID(BlockedTopic(TopicDMChecks))
	if err != nil {
		t.Fatal(err)
	}
	high, _ := c.SchemaID(BlockedTopic(TopicDMChecksHigh))
	if normal != high || normal == mark {
		t.Errorf("blocked ids normal=%d high=%d mark=%d, want one id of their own", normal, high, mark)
	}
	if _, err := c.SchemaID(TopicReprocessState); err != nil {
		t.Error(err)
	}
}

func TestRetryTopicNames(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{BlockedTopic(TopicDMChecks), "ration.dm.checks.blocked"},
		{BlockedTopic(TopicDMChecksHigh), "ration.dm.checks.high.blocked"},
		{DelayTopic(PipelineDM, 2), "ration.dm.delay.2"},
		{ParkedTopic(PipelineDM), TopicDMParked},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	if got := DMDelayTopics(3); !reflect.DeepEqual(got, []string{"ration.dm.delay.1", "ration.dm.delay.2", "ration.dm.delay.3"}) {
		t.Errorf("DMDelayTopics(3) = %v", got)
	}
	if got := DMDelayTopics(0); len(got) != 0 {
		t.Errorf("DMDelayTopics(0) = %v", got)
	}
}

func TestRegisterIsIdempotent(t *testing.T) {
	c, cl := newTestCodec(t)
	again, err := Register(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	for topic := range topicSchema {
		a, _ := c.SchemaID(topic)
		b, _ := again.SchemaID(topic)
		if a != b {
			t.Fatalf("%s: id %d then %d", topic, a, b)
		}
	}
}

func TestDecodeRejectsOtherType(t *testing.T) {
	c, _ := newTestCodec(t)
	b, err := c.Encode(&DMUser{UserID: "u", RegisteredAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Decode(b, new(DMMark)); err == nil {
		t.Fatal("decoding a user as a mark succeeded")
	}
}

func FuzzDecode(f *testing.F) {
	reg := srfake.New()
	defer reg.Close()
	cl, _ := sr.NewClient(sr.URLs(reg.URL()))
	c, err := Register(context.Background(), cl)
	if err != nil {
		f.Fatal(err)
	}
	seed, _ := c.Encode(&DMMark{UserID: "u1", Priority: PriorityNormal, MarkedAt: time.UnixMilli(1)})
	f.Add(seed)
	f.Add([]byte{0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		var m DMMark
		_ = c.Decode(b, &m) // must not panic
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

	c, err := Register(ctx, cl)
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

// TestIncompatibleOlderVersionIsNotDecoded: an earlier version whose fields
// are not the current ones' first ones cannot be read by the hand-written
// decoder, and its records stay undecodable instead of decoding wrong.
func TestIncompatibleOlderVersionIsNotDecoded(t *testing.T) {
	reg := srfake.New()
	t.Cleanup(reg.Close)
	cl, err := sr.NewClient(sr.URLs(reg.URL()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	other := `{"type": "record", "name": "ReprocessState", "namespace": "ration", "fields": [
		{"name": "item_id", "type": "string"}, {"name": "pipeline", "type": "string"}]}`
	old, err := cl.CreateSchema(ctx, TopicReprocessState+"-value", sr.Schema{Schema: other, Type: sr.TypeAvro})
	if err != nil {
		t.Fatal(err)
	}
	c, err := Register(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	written := append(binary.BigEndian.AppendUint32([]byte{0}, uint32(old.ID)), 0x04, 'u', '1', 0x04, 'd', 'm')
	if err := c.Decode(written, new(ReprocessState)); err == nil || !strings.Contains(err.Error(), "earlier version") {
		t.Fatalf("a record of an incompatible older version: %v, want an error naming the version", err)
	}
}
