package sink

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/schemas"
)

// TestParkedAndGivenUpStates: a pending user whose latest event parked it
// is parked until something happens to it again; one the reprocessor gave
// up on is failed; and the reprocessor's selection takes parked items at
// once and others only once stuck.
func TestParkedAndGivenUpStates(t *testing.T) {
	r, db := newReader(t)
	codec := testCodec(t)
	base := time.UnixMilli(1_750_000_000_000).UTC()
	var recs []*kgo.Record
	rec := func(topic string, v schemas.Record) {
		b, err := codec.Encode(v)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, &kgo.Record{Topic: topic, Value: b})
	}
	mark := func(user string, at time.Duration) {
		rec(schemas.TopicDMChecks, &schemas.DMMark{UserID: user, Priority: schemas.PriorityNormal, MarkedAt: base.Add(at)})
	}
	event := func(user, stage string, st schemas.Status, retry int, at time.Duration) {
		rec(schemas.TopicEvents, &schemas.Event{ItemID: user, Pipeline: schemas.PipelineDM, Stage: stage, Status: st,
			Attempt: 1, RetryCount: retry, Worker: "w", SourceTopic: schemas.TopicDMChecks, SourceOffset: int64(at), Time: base.Add(at)})
	}
	mark("alice", 0) // parked
	event("alice", "check", schemas.StatusError, 0, time.Second)
	event("alice", "check", schemas.StatusReprocess, 0, 2*time.Second)
	mark("bob", 0) // parked, then sent again: pending
	event("bob", "check", schemas.StatusReprocess, 0, 2*time.Second)
	event("bob", "reprocess", schemas.StatusSuccess, 1, 3*time.Second)
	mark("carol", 0) // given up on: failed
	event("carol", "check", schemas.StatusReprocess, 3, 2*time.Second)
	event("carol", "check", schemas.StatusFailed, 3, 4*time.Second)
	mark("dave", 10*time.Second) // parked long before its latest mark: pending
	event("dave", "check", schemas.StatusReprocess, 0, 2*time.Second)
	event("eve", "check", schemas.StatusFailed, 0, time.Second) // an undecodable mark: no user
	store(t, r.Conn(), db, codec, recs)
	store(t, r.Conn(), db, codec, recs)

	ctx := context.Background()
	for user, want := range map[string]ration.DMState{"alice": ration.DMParked, "bob": ration.DMPending, "carol": ration.DMFailed, "dave": ration.DMPending} {
		u, err := r.DMUser(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		if u.State != want {
			t.Errorf("%s is %s, want %s", user, u.State, want)
		}
		if user == "carol" && (u.CheckedAt == nil || !u.CheckedAt.Equal(base.Add(4*time.Second))) {
			t.Errorf("carol's checked_at %v, want when she was given up on", u.CheckedAt)
		}
	}
	if _, err := r.DMUser(ctx, "eve"); !errors.Is(err, ration.ErrNotFound) {
		t.Errorf("eve, known only by an event: %v, want not found", err)
	}
	st, err := r.DMStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Parked != 1 || st.Pending != 2 || st.Failed != 1 || st.Unmarked != 0 {
		t.Fatalf("stats %+v, want 1 parked, 2 pending, 1 failed, none unmarked", st)
	}
	page, err := r.DMUsers(ctx, ration.DMParked, "", 10)
	if err != nil || len(page.Users) != 1 || page.Users[0].UserID != "alice" {
		t.Fatalf("parked users: %+v, %v", page.Users, err)
	}

	candidatesAfter := func(sel ration.ReprocessSelection, afterItem string) []string {
		items, err := r.ReprocessCandidates(ctx, sel, schemas.PipelineDM, afterItem, 10)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, it := range items {
			ids = append(ids, it.ItemID+"/"+it.Status)
		}
		return ids
	}
	candidates := func(stuckBefore time.Time) []string {
		return candidatesAfter(ration.ReprocessSelection{StuckBefore: stuckBefore}, "")
	}
	if got := candidates(base); len(got) != 2 || got[0] != "alice/REPROCESS" || got[1] != "dave/REPROCESS" {
		t.Fatalf("candidates %v, want the parked alice and dave", got)
	}
	if got := candidates(base.Add(time.Hour)); len(got) != 3 || got[1] != "bob/SUCCESS" {
		t.Fatalf("candidates once bob is stuck: %v", got)
	}
	stuck := base.Add(time.Hour)
	for name, c := range map[string]struct {
		sel   ration.ReprocessSelection
		after string
		want  string
	}{
		"after a cursor":   {ration.ReprocessSelection{StuckBefore: stuck}, "alice", "bob/SUCCESS dave/REPROCESS"},
		"one status":       {ration.ReprocessSelection{StuckBefore: stuck, Status: "SUCCESS"}, "", "bob/SUCCESS"},
		"since":            {ration.ReprocessSelection{StuckBefore: stuck, Since: base.Add(2500 * time.Millisecond)}, "", "bob/SUCCESS"},
		"another pipeline": {ration.ReprocessSelection{StuckBefore: stuck, Pipeline: "receipts"}, "", ""},
	} {
		if got := strings.Join(candidatesAfter(c.sel, c.after), " "); got != c.want {
			t.Errorf("candidates %s: %q, want %q", name, got, c.want)
		}
	}
}

// TestLastChanged: each item's latest event time, by pipeline and id;
// unknown items are missing.
func TestLastChanged(t *testing.T) {
	r, db := newReader(t)
	codec := testCodec(t)
	base := time.UnixMilli(1_750_000_000_000).UTC()
	var recs []*kgo.Record
	for i, e := range []schemas.Event{
		{ItemID: "a", Pipeline: "dm", Status: schemas.StatusError, Time: base},
		{ItemID: "a", Pipeline: "dm", Status: schemas.StatusProcessed, Time: base.Add(time.Second)},
		{ItemID: "a", Pipeline: "receipts", Status: schemas.StatusProcessed, Time: base.Add(time.Hour)},
		{ItemID: "it's", Pipeline: "dm", Status: schemas.StatusReprocess, Time: base.Add(2 * time.Second)},
	} {
		e.Stage, e.Worker, e.SourceTopic, e.SourceOffset = "check", "w", "in", int64(i)
		b, err := codec.Encode(&e)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, &kgo.Record{Topic: schemas.TopicEvents, Value: b})
	}
	store(t, r.Conn(), db, codec, recs)

	key := func(pipeline, id string) ration.ItemKey { return ration.ItemKey{Pipeline: pipeline, ItemID: id} }
	got, err := r.LastChanged(context.Background(), []ration.ItemKey{key("dm", "a"), key("dm", "it's"), key("dm", "nobody")})
	if err != nil {
		t.Fatal(err)
	}
	want := map[ration.ItemKey]time.Time{key("dm", "a"): base.Add(time.Second), key("dm", "it's"): base.Add(2 * time.Second)}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, w := range want {
		if !got[k].Equal(w) {
			t.Errorf("%v: %v, want %v", k, got[k], w)
		}
	}
}
