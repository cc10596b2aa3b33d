package sink

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/schemas"
)

// statusEvent is an event of item of pipeline in stage at second s of g,
// with its retry count and error, and its source offset s.
func (g gen) statusEvent(pipeline, item, stage string, st schemas.Status, retry, s int, errText string) *kgo.Record {
	g.t.Helper()
	return g.rec(testEvents, item, &schemas.Event{ItemID: item, Pipeline: pipeline, Stage: stage, Status: st,
		Attempt: 1, RetryCount: retry, Worker: "w1", SourceTopic: testInput, SourcePartition: 1, SourceOffset: int64(100 + s),
		Error: errText, Time: g.at(s)})
}

// allCandidates pages through the candidates sel selects, limit at a time,
// failing t if a page is out of order or repeats an item.
func allCandidates(t testing.TB, r *Reader, sel ration.ReprocessSelection, limit int) []ration.ItemStatus {
	t.Helper()
	var out []ration.ItemStatus
	var afterPipeline, afterItem string
	for {
		page, err := r.ReprocessCandidates(context.Background(), sel, afterPipeline, afterItem, limit)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > limit {
			t.Fatalf("page of %d, limit %d", len(page), limit)
		}
		for _, it := range page {
			if it.Pipeline < afterPipeline || (it.Pipeline == afterPipeline && it.ItemID <= afterItem) {
				t.Fatalf("%s/%s after %s/%s", it.Pipeline, it.ItemID, afterPipeline, afterItem)
			}
			afterPipeline, afterItem = it.Pipeline, it.ItemID
		}
		out = append(out, page...)
		if len(page) < limit {
			return out
		}
	}
}

// names renders candidates as pipeline/item/status.
func names(items []ration.ItemStatus) string {
	var out []string
	for _, it := range items {
		out = append(out, it.Pipeline+"/"+it.ItemID+"/"+it.Status)
	}
	return strings.Join(out, " ")
}

// TestReprocessCandidates: the reprocessor's selection takes an item whose
// latest event parked it (REPROCESS) at once, one in ERROR or SUCCESS only
// once it is stuck, and never one that FAILED or was PROCESSED; the
// selection pages by (pipeline, item) and filters by pipeline, status and
// time, and a replayed batch changes none of it.
func TestReprocessCandidates(t *testing.T) {
	r, db := newReader(t)
	codec := newCodec(t)
	g := newGen(t, codec)
	ev := g.statusEvent
	recs := []*kgo.Record{
		ev("t", "alice", "copy", schemas.StatusError, 0, 1, "timeout"), // parked
		ev("t", "alice", "copy", schemas.StatusReprocess, 2, 2, "503 from upstream"),
		ev("t", "bob", "copy", schemas.StatusReprocess, 0, 2, ""), // parked, sent again, succeeded
		ev("t", "bob", "reprocess", schemas.StatusSuccess, 1, 3, ""),
		ev("t", "carol", "copy", schemas.StatusReprocess, 3, 2, ""), // given up on
		ev("t", "carol", "copy", schemas.StatusFailed, 3, 4, "gave up"),
		ev("t", "dave", "copy", schemas.StatusReprocess, 0, 2, ""), // parked
		ev("t", "erin", "copy", schemas.StatusError, 0, 5, "refused"),
		ev("t", "frank", "copy", schemas.StatusProcessed, 0, 1, ""), // at the end of the pipeline
		ev("u", "alice", "copy", schemas.StatusReprocess, 0, 2, ""), // the same id in another pipeline
	}
	store(t, r.Conn(), db, codec, recs)
	store(t, r.Conn(), db, codec, recs) // a replayed batch, not merged yet

	stuck := g.at(3600)
	for _, tc := range []struct {
		name string
		sel  ration.ReprocessSelection
		want string
	}{
		{"parked items at once", ration.ReprocessSelection{StuckBefore: g.at(0)},
			"t/alice/REPROCESS t/dave/REPROCESS u/alice/REPROCESS"},
		{"stuck items once stuck", ration.ReprocessSelection{StuckBefore: stuck},
			"t/alice/REPROCESS t/bob/SUCCESS t/dave/REPROCESS t/erin/ERROR u/alice/REPROCESS"},
		{"stuck means changed before the bound", ration.ReprocessSelection{StuckBefore: g.at(5)}, // erin changed at 5
			"t/alice/REPROCESS t/bob/SUCCESS t/dave/REPROCESS u/alice/REPROCESS"},
		{"one pipeline", ration.ReprocessSelection{StuckBefore: stuck, Pipeline: "t"},
			"t/alice/REPROCESS t/bob/SUCCESS t/dave/REPROCESS t/erin/ERROR"},
		{"a pipeline without items", ration.ReprocessSelection{StuckBefore: stuck, Pipeline: "nobody"}, ""},
		{"one status", ration.ReprocessSelection{StuckBefore: stuck, Status: "SUCCESS"}, "t/bob/SUCCESS"},
		{"since", ration.ReprocessSelection{StuckBefore: stuck, Since: g.at(3)}, "t/bob/SUCCESS t/erin/ERROR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, limit := range []int{1, 2, 100} {
				if got := names(allCandidates(t, r, tc.sel, limit)); got != tc.want {
					t.Fatalf("limit %d:\n got %q\nwant %q", limit, got, tc.want)
				}
			}
		})
	}
	t.Run("after a cursor", func(t *testing.T) {
		ctx := context.Background()
		sel := ration.ReprocessSelection{StuckBefore: stuck}
		for _, tc := range []struct{ pipeline, item, want string }{
			{"t", "alice", "t/bob/SUCCESS t/dave/REPROCESS t/erin/ERROR u/alice/REPROCESS"},
			{"t", "bz", "t/dave/REPROCESS t/erin/ERROR u/alice/REPROCESS"},
			{"t", "zzz", "u/alice/REPROCESS"},
			{"u", "alice", ""},
		} {
			page, err := r.ReprocessCandidates(ctx, sel, tc.pipeline, tc.item, 10)
			if err != nil {
				t.Fatal(err)
			}
			if got := names(page); got != tc.want {
				t.Errorf("after %s/%s: %q, want %q", tc.pipeline, tc.item, got, tc.want)
			}
		}
	})
	t.Run("a candidate is its latest event", func(t *testing.T) {
		page, err := r.ReprocessCandidates(context.Background(), ration.ReprocessSelection{StuckBefore: stuck, Pipeline: "t"}, "", "", 1)
		if err != nil {
			t.Fatal(err)
		}
		want := []ration.ItemStatus{{Pipeline: "t", ItemID: "alice", Stage: "copy", Status: "REPROCESS", Attempt: 1, RetryCount: 2,
			Error: "503 from upstream", SourceTopic: testInput, SourcePartition: 1, SourceOffset: 102, Changed: g.at(2)}}
		if !reflect.DeepEqual(page, want) {
			t.Fatalf("got  %+v\nwant %+v", page, want)
		}
	})
}

// TestLastChanged: each item's latest event time, by pipeline and id;
// unknown items are missing.
func TestLastChanged(t *testing.T) {
	r, db := newReader(t)
	codec := newCodec(t)
	g := newGen(t, codec)
	ev := g.statusEvent
	recs := []*kgo.Record{
		ev("t", "a", "copy", schemas.StatusError, 0, 0, ""),
		ev("t", "a", "copy", schemas.StatusProcessed, 0, 1, ""),
		ev("u", "a", "copy", schemas.StatusProcessed, 0, 3600, ""),
		ev("t", "it's", "copy", schemas.StatusReprocess, 0, 2, ""),
	}
	store(t, r.Conn(), db, codec, recs)
	store(t, r.Conn(), db, codec, recs)

	key := func(pipeline, id string) ration.ItemKey { return ration.ItemKey{Pipeline: pipeline, ItemID: id} }
	ctx := context.Background()
	got, err := r.LastChanged(ctx, []ration.ItemKey{key("t", "a"), key("t", "it's"), key("t", "nobody"), key("v", "a")})
	if err != nil {
		t.Fatal(err)
	}
	want := map[ration.ItemKey]time.Time{key("t", "a"): g.at(1), key("t", "it's"): g.at(2)}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	t.Run("no items, no query", func(t *testing.T) {
		got, err := r.LastChanged(ctx, nil)
		if err != nil || len(got) != 0 {
			t.Fatalf("%v, %v", got, err)
		}
	})
}
