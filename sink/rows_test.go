package sink

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/rationhq/ration/schemas"
)

func testCodec(t testing.TB) *schemas.Codec {
	t.Helper()
	reg := srfake.New()
	t.Cleanup(reg.Close)
	cl, err := sr.NewClient(sr.URLs(reg.URL()))
	if err != nil {
		t.Fatal(err)
	}
	codec, err := schemas.Register(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	return codec
}

func TestConvert(t *testing.T) {
	codec := testCodec(t)
	at := time.UnixMilli(1_750_000_000_123).UTC()
	day := at
	no := false
	record := func(topic string, v schemas.Record) *kgo.Record {
		b, err := codec.Encode(v)
		if err != nil {
			t.Fatal(err)
		}
		return &kgo.Record{Topic: topic, Partition: 2, Offset: 7, Value: b}
	}
	for _, tc := range []struct {
		name  string
		rec   *kgo.Record
		table *table
		want  []any
	}{
		{"registration", record(schemas.TopicDMUsers, &schemas.DMUser{UserID: "u", RegisteredAt: at}), dmUserLog,
			[]any{"u", "register", uint64(1_750_000_000_123), uint64(0), "normal", "none", int8(-1), uint16(0), "", "", "ration.dm.users/2/7", day}},
		{"high mark", record(schemas.TopicDMChecksHigh, &schemas.DMMark{UserID: "u", Priority: schemas.PriorityHigh, MarkedAt: at}), dmUserLog,
			[]any{"u", "mark", uint64(1_750_000_000_123), uint64(1_750_000_000_123), "high", "none", int8(-1), uint16(0), "", "", "ration.dm.checks.high/2/7", day}},
		{"result", record(schemas.TopicDMResults, &schemas.DMResult{UserID: "u", Priority: schemas.PriorityNormal, MarkedAt: at,
			CheckedAt: at.Add(time.Second), Status: schemas.ResultChecked, OpenDM: &no, Attempts: 3, Worker: "w"}), dmUserLog,
			[]any{"u", "result", uint64(1_750_000_001_123), uint64(1_750_000_000_123), "normal", "checked", int8(0), uint16(3), "w", "", "ration.dm.results/2/7", day.Add(time.Second)}},
		{"event", record(schemas.TopicEvents, &schemas.Event{ItemID: "i", Pipeline: "dm", Stage: "check", Status: schemas.StatusError,
			Attempt: 2, RetryCount: 1, Worker: "w", SourceTopic: "s", SourcePartition: 1, SourceOffset: 5, ErrorClass: "transient", Error: "e", Time: at}), events,
			[]any{"ration.events/2/7", "i", "dm", "check", "ERROR", uint16(2), uint16(1), "w", "s", int32(1), int64(5), "transient", "e", uint64(1_750_000_000_123), day}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := convert(codec, tc.rec)
			if err != nil {
				t.Fatal(err)
			}
			if got.table != tc.table || !reflect.DeepEqual(got.values, tc.want) {
				t.Fatalf("got %s %#v\nwant %s %#v", got.table.name, got.values, tc.table.name, tc.want)
			}
			if len(got.values) != len(got.table.columns) {
				t.Fatalf("%d values for %d columns", len(got.values), len(got.table.columns))
			}
		})
	}
	t.Run("undecodable records are errors", func(t *testing.T) {
		for _, r := range []*kgo.Record{
			{Topic: schemas.TopicDMChecks, Value: []byte("not avro")},
			{Topic: schemas.TopicDMChecks},                                                // a tombstone
			record(schemas.TopicDMChecks, &schemas.DMUser{UserID: "u", RegisteredAt: at}), // the wrong schema
			{Topic: "elsewhere", Value: []byte{0}},
		} {
			if _, err := convert(codec, r); err == nil {
				t.Fatalf("%s %q converted", r.Topic, r.Value)
			}
		}
	})
	t.Run("times ClickHouse cannot store are errors", func(t *testing.T) {
		_, err := convert(codec, record(schemas.TopicDMUsers, &schemas.DMUser{UserID: "u", RegisteredAt: time.UnixMilli(-1)}))
		if !errors.Is(err, errNoRow) {
			t.Fatalf("err %v, want errNoRow", err)
		}
	})
}
