package sink

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/schemas"
)

// TestItemHistory: an item's events come back oldest first, each once even
// when stored twice (a replay before a merge), and only that item's.
func TestItemHistory(t *testing.T) {
	r, db := newReader(t)
	codec := testCodec(t)
	base := time.UnixMilli(1_750_000_000_000).UTC()
	event := func(item string, st schemas.Status, at time.Duration, class string) *kgo.Record {
		b, err := codec.Encode(&schemas.Event{ItemID: item, Pipeline: schemas.PipelineDM, Stage: "check", Status: st,
			Attempt: 1, Worker: "w1", SourceTopic: schemas.TopicDMChecks, SourcePartition: 2, SourceOffset: int64(at / time.Second),
			ErrorClass: class, Time: base.Add(at)})
		if err != nil {
			t.Fatal(err)
		}
		return &kgo.Record{Topic: schemas.TopicEvents, Value: b}
	}
	recs := []*kgo.Record{
		event("alice", schemas.StatusSuccess, 3*time.Second, ""),
		event("bob", schemas.StatusSuccess, 2*time.Second, ""),
		event("alice", schemas.StatusFailed, time.Second, "transient"),
	}
	store(t, r.Conn(), db, codec, recs)
	store(t, r.Conn(), db, codec, recs)

	got, err := r.ItemHistory(context.Background(), schemas.PipelineDM, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d events for alice, want 2 (each once): %+v", len(got), got)
	}
	if got[0].Status != "FAILED" || got[0].ErrorClass != "transient" || got[1].Status != "SUCCESS" {
		t.Fatalf("events not oldest first: %+v", got)
	}
	if !got[0].Time.Equal(base.Add(time.Second)) || got[0].SourcePartition != 2 || got[0].Worker != "w1" {
		t.Fatalf("event fields: %+v", got[0])
	}
	none, err := r.ItemHistory(context.Background(), schemas.PipelineDM, "carol")
	if err != nil || len(none) != 0 {
		t.Fatalf("history of an item without events: %v, %v", none, err)
	}
}

// TestItemStatusView: the item_status view holds each item's latest
// status, unchanged by replayed events.
func TestItemStatusView(t *testing.T) {
	r, db := newReader(t)
	codec := testCodec(t)
	base := time.UnixMilli(1_750_000_000_000).UTC()
	var recs []*kgo.Record
	for i, st := range []schemas.Status{schemas.StatusError, schemas.StatusReprocess, schemas.StatusSuccess} {
		b, err := codec.Encode(&schemas.Event{ItemID: "alice", Pipeline: schemas.PipelineDM, Stage: "check", Status: st,
			Attempt: 1, RetryCount: i, Worker: "w1", Time: base.Add(time.Duration(i) * time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, &kgo.Record{Topic: schemas.TopicEvents, Value: b})
	}
	store(t, r.Conn(), db, codec, recs)
	store(t, r.Conn(), db, codec, recs)

	var (
		status     string
		retryCount uint16
		timeMS     uint64
		items      uint64
	)
	if err := r.Conn().QueryRow(context.Background(),
		"SELECT toString(status), retry_count, changed_ms FROM "+db+".item_status WHERE pipeline = 'dm' AND item_id = 'alice'").Scan(&status, &retryCount, &timeMS); err != nil {
		t.Fatal(err)
	}
	if status != "SUCCESS" || retryCount != 2 || timeMS != uint64(base.Add(2*time.Second).UnixMilli()) {
		t.Fatalf("latest status %s, retries %d, time %d", status, retryCount, timeMS)
	}
	if err := r.Conn().QueryRow(context.Background(), "SELECT count() FROM "+db+".item_status").Scan(&items); err != nil || items != 1 {
		t.Fatalf("%d items in the view (%v), want 1", items, err)
	}
}
