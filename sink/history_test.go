package sink

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/internal/chserver/chtest"
	"github.com/rationhq/ration/schemas"
)

// TestItemHistory: an item's events come back oldest first, each once even
// when stored twice (a replay before a merge), and only that item's.
func TestItemHistory(t *testing.T) {
	srv := chtest.Shared(t)
	db := newDB(t)
	r := openReader(t, srv.Addr(), db)
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
