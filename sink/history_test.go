package sink

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/schemas"
)

// TestItemHistory: an item's events come back oldest first, each once even
// when stored twice (a replay before a merge), and only that item's of
// that pipeline.
func TestItemHistory(t *testing.T) {
	r, db := newReader(t)
	codec := newCodec(t)
	g := newGen(t, codec)
	event := func(pipeline, item string, st schemas.Status, s int, class string) *kgo.Record {
		return g.rec(testEvents, item, &schemas.Event{ItemID: item, Pipeline: pipeline, Stage: "copy", Status: st,
			Attempt: 1, Worker: "w1", SourceTopic: testInput, SourcePartition: 2, SourceOffset: int64(s),
			ErrorClass: class, Error: class, Time: g.at(s)})
	}
	recs := []*kgo.Record{
		event("t", "alice", schemas.StatusSuccess, 3, ""),
		event("t", "bob", schemas.StatusSuccess, 2, ""),
		event("u", "alice", schemas.StatusError, 2, "permanent"),
		event("t", "alice", schemas.StatusError, 1, "transient"),
	}
	store(t, r.Conn(), db, codec, recs)
	store(t, r.Conn(), db, codec, recs)

	ctx := context.Background()
	got, err := r.ItemHistory(ctx, "t", "alice", g.at(1))
	if err != nil {
		t.Fatal(err)
	}
	want := []ration.ItemEvent{
		{ItemID: "alice", Pipeline: "t", Stage: "copy", Status: "ERROR", Attempt: 1, Worker: "w1", SourceTopic: testInput,
			SourcePartition: 2, SourceOffset: 1, ErrorClass: "transient", Error: "transient", Time: ration.Timestamp{Time: g.at(1)}},
		{ItemID: "alice", Pipeline: "t", Stage: "copy", Status: "SUCCESS", Attempt: 1, Worker: "w1", SourceTopic: testInput,
			SourcePartition: 2, SourceOffset: 3, Time: ration.Timestamp{Time: g.at(3)}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("history of t/alice:\n got %+v\nwant %+v", got, want)
	}
	if later, err := r.ItemHistory(ctx, "t", "alice", g.at(3).Add(24*time.Hour)); err != nil || len(later) != 0 {
		t.Fatalf("history of t/alice from the day after its events: %+v, %v; want none", later, err)
	}
	none, err := r.ItemHistory(ctx, "t", "carol", time.Time{})
	if err != nil || none == nil || len(none) != 0 {
		t.Fatalf("history of an item without events: %#v, %v; want an empty list", none, err)
	}
}

// TestItemStatusView: the item_status view holds each item's latest
// status, unchanged by replayed events.
func TestItemStatusView(t *testing.T) {
	r, db := newReader(t)
	codec := newCodec(t)
	g := newGen(t, codec)
	var recs []*kgo.Record
	for i, st := range []schemas.Status{schemas.StatusError, schemas.StatusReprocess, schemas.StatusSuccess} {
		recs = append(recs, g.rec(testEvents, "alice", &schemas.Event{ItemID: "alice", Pipeline: testPipeline, Stage: "copy", Status: st,
			Attempt: 1, RetryCount: i, Worker: "w1", SourceTopic: testInput, SourceOffset: int64(10 + i), Time: g.at(i)}))
	}
	store(t, r.Conn(), db, codec, recs)
	store(t, r.Conn(), db, codec, recs)

	var (
		status     string
		retryCount uint16
		offset     int64
		changedMS  uint64
	)
	if err := r.Conn().QueryRow(context.Background(),
		"SELECT toString(status), retry_count, source_offset, changed_ms FROM item_status WHERE pipeline = ? AND item_id = 'alice'", testPipeline).
		Scan(&status, &retryCount, &offset, &changedMS); err != nil {
		t.Fatal(err)
	}
	if status != "SUCCESS" || retryCount != 2 || offset != 12 || changedMS != uint64(g.at(2).UnixMilli()) {
		t.Fatalf("latest status %s, retries %d, source offset %d, changed %d", status, retryCount, offset, changedMS)
	}
	if n := mustCount(t, r.Conn(), "SELECT count() FROM item_status"); n != 1 {
		t.Fatalf("%d items in the view, want 1", n)
	}
}
