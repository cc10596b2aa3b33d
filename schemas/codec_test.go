package schemas

import (
	"context"
	"reflect"
	"testing"
	"time"

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

func TestRegisterIsIdempotent(t *testing.T) {
	c, cl := newTestCodec(t)
	again, err := Register(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	for _, topic := range Topics() {
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
