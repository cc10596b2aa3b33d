package dm

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"reflect"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/internal/chserver/chtest"
	"github.com/rationhq/ration/processor"
	"github.com/rationhq/ration/schemas"
	"github.com/rationhq/ration/sink"
)

// universe is the records of many users' histories, as they sit in the
// DM pipeline's topics: registrations, marks, results and status events,
// each with its partition and offset.
type universe struct {
	codec   *schemas.Codec
	base    time.Time
	records []*kgo.Record
	offsets map[string]int64 // topic/partition -> next offset
}

const universeBuckets = 4

func newUniverse(codec *schemas.Codec) *universe {
	return &universe{codec: codec, base: time.UnixMilli(1_750_000_000_000).UTC(), offsets: make(map[string]int64)}
}

func (u *universe) at(s int) time.Time { return u.base.Add(time.Duration(s) * time.Second) }

func bucketOf(user string) int32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(user))
	return int32(h.Sum32() % universeBuckets)
}

func (u *universe) add(topic, user string, v schemas.Record) {
	b, err := u.codec.Encode(v)
	if err != nil {
		panic(err)
	}
	p := bucketOf(user)
	k := fmt.Sprintf("%s/%d", topic, p)
	u.records = append(u.records, &kgo.Record{Topic: topic, Partition: p, Offset: u.offsets[k], Key: []byte(user), Value: b})
	u.offsets[k]++
}

func (u *universe) register(user string, s int) {
	u.add(TopicUsers, user, &User{UserID: user, RegisteredAt: u.at(s)})
}

func (u *universe) mark(user string, p Priority, s int) {
	topic := TopicChecks
	if p == PriorityHigh {
		topic = TopicChecksHigh
	}
	u.add(topic, user, &Mark{UserID: user, Priority: p, MarkedAt: u.at(s)})
}

func (u *universe) result(user string, p Priority, marked, checked int, st ResultStatus, open *bool, attempts int) {
	u.add(TopicResults, user, &Result{UserID: user, Priority: p, MarkedAt: u.at(marked), CheckedAt: u.at(checked),
		Status: st, OpenDM: open, Attempts: attempts, Worker: "w"})
}

func (u *universe) event(user, stage string, st schemas.Status, s int) {
	u.add(New().EventsTopic(), user, &schemas.Event{ItemID: user, Pipeline: Name, Stage: stage, Status: st,
		Attempt: 1, Worker: "w", SourceTopic: TopicChecks, Time: u.at(s)})
}

// edgeCases are the histories whose states the whole-log query was
// written for (one user each).
func (u *universe) edgeCases() {
	yes, no := true, false
	u.register("reg-only", 0)
	u.mark("pending", PriorityNormal, 1)
	u.mark("checked", PriorityHigh, 1)
	u.result("checked", PriorityHigh, 1, 2, ResultChecked, &yes, 2)
	u.mark("failed", PriorityNormal, 1)
	u.result("failed", PriorityNormal, 1, 3, ResultFailed, nil, 4)
	u.mark("remarked", PriorityNormal, 1)
	u.result("remarked", PriorityNormal, 1, 2, ResultChecked, &no, 1)
	u.mark("remarked", PriorityHigh, 5)
	u.result("result-first", PriorityNormal, 7, 8, ResultChecked, &yes, 1) // its mark not stored yet
	u.mark("tie", PriorityNormal, 3)
	u.mark("tie", PriorityHigh, 3)
	u.mark("parked", PriorityNormal, 0)
	u.event("parked", StageCheck, schemas.StatusError, 1)
	u.event("parked", StageCheck, schemas.StatusReprocess, 2)
	u.mark("resent", PriorityNormal, 0)
	u.event("resent", StageCheck, schemas.StatusReprocess, 2)
	u.event("resent", ReprocessStage, schemas.StatusSuccess, 3)
	u.mark("given-up", PriorityNormal, 0)
	u.event("given-up", StageCheck, schemas.StatusReprocess, 2)
	u.event("given-up", StageCheck, schemas.StatusFailed, 4)
	u.mark("parked-before", PriorityNormal, 10)
	u.event("parked-before", StageCheck, schemas.StatusReprocess, 2)
	u.event("events-only", StageCheck, schemas.StatusFailed, 1) // an undecodable mark: no user
	// Ties at every boundary of the state's rules.
	u.mark("parked-at-mark", PriorityNormal, 5)
	u.event("parked-at-mark", StageCheck, schemas.StatusReprocess, 5)
	u.mark("given-up-at-mark", PriorityNormal, 5)
	u.event("given-up-at-mark", StageCheck, schemas.StatusFailed, 5)
	u.mark("given-up-at-park", PriorityNormal, 5)
	u.event("given-up-at-park", StageCheck, schemas.StatusReprocess, 6)
	u.event("given-up-at-park", StageCheck, schemas.StatusFailed, 6)
	u.mark("retried-at-park", PriorityNormal, 5)
	u.event("retried-at-park", StageCheck, schemas.StatusReprocess, 6)
	u.event("retried-at-park", ReprocessStage, schemas.StatusSuccess, 6)
	u.mark("two-results", PriorityNormal, 5)
	u.result("two-results", PriorityNormal, 5, 6, ResultChecked, &yes, 1)
	u.result("two-results", PriorityNormal, 5, 6, ResultFailed, nil, 2) // same times: the later src wins
	u.mark("processed", PriorityNormal, 1)
	u.event("processed", StageCheck, schemas.StatusProcessed, 2)
	u.result("processed", PriorityNormal, 1, 2, ResultChecked, &yes, 1)
}

// random adds n users with random histories, their times in whole seconds
// so that ties happen.
func (u *universe) random(r *rand.Rand, n int) {
	yes, no := true, false
	for i := range n {
		user := fmt.Sprintf("u%04d", i)
		if r.IntN(10) < 7 {
			u.register(user, r.IntN(100))
		}
		for range r.IntN(4) {
			s, p := r.IntN(100), []Priority{PriorityNormal, PriorityHigh}[r.IntN(2)]
			if r.IntN(10) > 0 {
				u.mark(user, p, s)
			}
			switch r.IntN(4) {
			case 0:
				u.result(user, p, s, s+r.IntN(5), ResultChecked, []*bool{&yes, &no}[r.IntN(2)], 1+r.IntN(3))
			case 1:
				u.result(user, p, s, s+r.IntN(5), ResultFailed, nil, 1+r.IntN(3))
			}
		}
		for range r.IntN(3) {
			stage, st := StageCheck, []schemas.Status{schemas.StatusError, schemas.StatusReprocess, schemas.StatusFailed, schemas.StatusProcessed}[r.IntN(4)]
			if r.IntN(5) == 0 {
				stage, st = ReprocessStage, schemas.StatusSuccess
			}
			u.event(user, stage, st, r.IntN(110))
		}
	}
}

// fold runs the state view over the records, in a random order, each
// record twice or more now and then, ending a batch of a bucket at random,
// and returns everything the view wrote.
func (u *universe) fold(t *testing.T, r *rand.Rand) []*kgo.Record {
	t.Helper()
	v := &stateView{codec: u.codec, events: New().EventsTopic()}
	store := processor.NewMemoryStore()
	states := make(map[int32]processor.State)
	for b := range int32(universeBuckets) {
		states[b] = processor.StoreState(store, b)
	}
	recs := append([]*kgo.Record{}, u.records...)
	for _, rec := range u.records {
		if r.IntN(10) == 0 {
			recs = append(recs, rec) // a record the view sees twice
		}
	}
	r.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
	var out []*kgo.Record
	ctx := context.Background()
	for i, rec := range recs {
		got, err := v.Process(ctx, rec, states[rec.Partition])
		if err != nil {
			t.Fatalf("record %d (%s): %v", i, rec.Topic, err)
		}
		out = append(out, got...)
		if r.IntN(20) == 0 || i == len(recs)-1 {
			for b := range int32(universeBuckets) {
				got, err := v.EndBatch(ctx, b, states[b])
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, got...)
			}
		}
	}
	return out
}

// store returns the rows the sink stores for recs.
func store(t *testing.T, codec *schemas.Codec, recs []*kgo.Record) []sink.Row {
	t.Helper()
	byTopic := make(map[string]sink.Mapping)
	for _, m := range sinkMappings() {
		byTopic[m.Topic] = m
	}
	byTopic[New().EventsTopic()] = sink.EventsMapping(New().EventsTopic())
	var rows []sink.Row
	for _, rec := range recs {
		m, ok := byTopic[rec.Topic]
		if !ok {
			t.Fatalf("no mapping for %s", rec.Topic)
		}
		rs, err := m.Rows(codec, rec)
		if err != nil {
			t.Fatalf("%s/%d@%d: %v", rec.Topic, rec.Partition, rec.Offset, err)
		}
		rows = append(rows, rs...)
	}
	return rows
}

var dbSeq atomic.Int64

func newDB(t *testing.T) string {
	return fmt.Sprintf("t%d_%s", dbSeq.Add(1), strings.ToLower(regexp.MustCompile(`\W+`).ReplaceAllString(t.Name(), "_")))
}

// TestStateViewAnswersAsTheWholeLog: for every user, every page of every
// state and the stats, the state view's tables answer exactly what the
// whole-log query answers over the same records — with records folded in
// a random order, some of them twice, and the view's output and the log
// stored twice (the sink's replays).
func TestStateViewAnswersAsTheWholeLog(t *testing.T) {
	srv := chtest.Shared(t)
	db := newDB(t)
	// A guard against a hang, not a bound: some 900 queries take half a
	// minute on a quiet machine, and over a minute beside the rest of
	// make test on a loaded one.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	migrations, err := migrationFS()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := sink.Open(ctx, sink.Target{ClickHouse: srv.Addr(), Database: db}, sink.Migrations{Owner: Name, FS: migrations})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })

	codec := testCodec(t)
	u := newUniverse(codec)
	u.edgeCases()
	r := rand.New(rand.NewPCG(11, 12))
	u.random(r, 400)
	// The log, as the sink stores it, twice.
	for range 2 {
		if err := sink.Insert(ctx, conn, db, store(t, codec, u.records)); err != nil {
			t.Fatal(err)
		}
	}
	view := u.fold(t, r)
	rows := store(t, codec, withOffsets(view))
	if err := sink.Insert(ctx, conn, db, rows); err != nil {
		t.Fatal(err)
	}
	if err := sink.Insert(ctx, conn, db, rows[:len(rows)/2]); err != nil {
		t.Fatal(err)
	}

	now := u.at(200)
	want, err := NewWholeLogReader(conn, db)
	if err != nil {
		t.Fatal(err)
	}
	want.now = func() time.Time { return now }
	got, err := NewReader(conn, db)
	if err != nil {
		t.Fatal(err)
	}
	got.now = want.now

	users := map[string]bool{}
	for _, rec := range u.records {
		users[string(rec.Key)] = true
	}
	for user := range users {
		w, werr := want.DMUser(ctx, user)
		g, gerr := got.DMUser(ctx, user)
		if (werr == nil) != (gerr == nil) || !reflect.DeepEqual(w, g) {
			t.Errorf("user %s:\n view      %+v (%v)\n whole log %+v (%v)", user, show(g), gerr, show(w), werr)
		}
	}
	for _, st := range []ration.DMState{"", ration.DMUnmarked, ration.DMPending, ration.DMParked, ration.DMChecked, ration.DMFailed} {
		wp, gp := allPages(t, want, st, 7), allPages(t, got, st, 7)
		if !reflect.DeepEqual(wp, gp) {
			t.Errorf("users in state %q:\n view      %v\n whole log %v", st, ids(gp), ids(wp))
		}
		if len(wp) == 0 {
			t.Errorf("no user in state %q: the universe misses a case", st)
		}
	}
	ws, err := want.DMStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	gs, err := got.DMStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ws != gs {
		t.Errorf("stats:\n view      %+v\n whole log %+v", gs, ws)
	}
}

// withOffsets gives the view's output records partitions and offsets, as
// Kafka would.
func withOffsets(recs []*kgo.Record) []*kgo.Record {
	next := map[string]int64{}
	for _, r := range recs {
		r.Partition = bucketOf(string(r.Key))
		k := fmt.Sprintf("%s/%d", r.Topic, r.Partition)
		r.Offset = next[k]
		next[k]++
	}
	return recs
}

// allPages walks every page of state, limit users at a time.
func allPages(t *testing.T, r ration.DMReader, st ration.DMState, limit int) []ration.DMUser {
	t.Helper()
	var all []ration.DMUser
	cursor := ""
	for range 10_000 {
		p, err := r.DMUsers(context.Background(), st, cursor, limit)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, p.Users...)
		if p.Next == "" {
			return all
		}
		cursor = p.Next
	}
	t.Fatal("pages never end")
	return nil
}

func ids(us []ration.DMUser) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.UserID + ":" + string(u.State)
	}
	return out
}

func show(u ration.DMUser) string {
	s := fmt.Sprintf("%s %s", u.UserID, u.State)
	if u.Priority != nil {
		s += " prio=" + *u.Priority
	}
	if u.MarkedAt != nil {
		s += " marked=" + u.MarkedAt.Format(time.TimeOnly)
	}
	if u.CheckedAt != nil {
		s += " checked=" + u.CheckedAt.Format(time.TimeOnly)
	}
	if u.OpenDM != nil {
		s += fmt.Sprintf(" open=%v", *u.OpenDM)
	}
	return s + fmt.Sprintf(" attempts=%d", u.Attempts)
}
