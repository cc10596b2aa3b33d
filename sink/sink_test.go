package sink

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/internal/chserver/chtest"
	"github.com/rationhq/ration/schemas"
)

// dm builds DM records for one test.
type dm struct {
	t    testing.TB
	env  *kafkaEnv
	base time.Time
}

func (d dm) at(s int) time.Time { return d.base.Add(time.Duration(s) * time.Second) }

func (d dm) user(id string) *kgo.Record {
	return d.env.rec(d.t, schemas.TopicDMUsers, id, &schemas.DMUser{UserID: id, RegisteredAt: d.base})
}

func (d dm) mark(id string, p schemas.Priority, s int) *kgo.Record {
	topic := schemas.TopicDMChecks
	if p == schemas.PriorityHigh {
		topic = schemas.TopicDMChecksHigh
	}
	return d.env.rec(d.t, topic, id, &schemas.DMMark{UserID: id, Priority: p, MarkedAt: d.at(s)})
}

func (d dm) result(id string, marked, checked int, st schemas.ResultStatus, open *bool, attempts int) *kgo.Record {
	return d.env.rec(d.t, schemas.TopicDMResults, id, &schemas.DMResult{UserID: id, Priority: schemas.PriorityNormal,
		MarkedAt: d.at(marked), CheckedAt: d.at(checked), Status: st, OpenDM: open, Attempts: attempts, Worker: "w1"})
}

func (d dm) event(item string, st schemas.Status, s int) *kgo.Record {
	return d.env.rec(d.t, schemas.TopicEvents, item, &schemas.Event{ItemID: item, Pipeline: "dm", Stage: "check", Status: st,
		Attempt: 1, Worker: "w1", SourceTopic: schemas.TopicDMChecks, SourcePartition: 0, SourceOffset: int64(s), Time: d.at(s)})
}

func TestSinkEndToEnd(t *testing.T) {
	srv := chtest.Shared(t)
	env := newKafka(t, 3)
	db := newDB(t)
	d := dm{t: t, env: env, base: time.UnixMilli(1_750_000_000_000).UTC()}
	yes, no := true, false

	// First an aborted transaction, whose records must never be stored. Its
	// keys are those of committed records that follow on the same topics:
	// once those are stored, the sink has read past the aborted ones.
	aborted := env.client(t, kgo.TransactionalID("aborts"))
	ghost := env.rec(t, schemas.TopicDMUsers, "u-reg", &schemas.DMUser{UserID: "ghost", RegisteredAt: d.base})
	produceTx(t, aborted, false, ghost, d.mark("u-pend", schemas.PriorityNormal, 90))

	committed := env.client(t, kgo.TransactionalID("commits"))
	produceTx(t, committed, true,
		d.user("u-reg"), d.user("u-pend"), d.user("u-ok"), d.user("u-fail"), d.user("u-remark"),
		d.mark("u-pend", schemas.PriorityNormal, 1), d.mark("u-ok", schemas.PriorityHigh, 1),
		d.mark("u-fail", schemas.PriorityNormal, 1), d.mark("u-remark", schemas.PriorityNormal, 1))
	plain := env.client(t)
	produce(t, plain,
		d.result("u-ok", 1, 2, schemas.ResultChecked, &yes, 2),
		d.result("u-fail", 1, 3, schemas.ResultFailed, nil, 4),
		d.result("u-remark", 1, 2, schemas.ResultChecked, &no, 1),
		d.mark("u-remark", schemas.PriorityHigh, 5),
		&kgo.Record{Topic: schemas.TopicDMChecks, Key: []byte("u-bad"), Value: []byte("not avro")},
		d.event("u-ok", schemas.StatusSuccess, 2), d.event("u-fail", schemas.StatusError, 2), d.event("u-fail", schemas.StatusFailed, 3))

	reg := prometheus.NewRegistry()
	startSink(t, testConfig(srv.Addr(), db, "e2e"), env, reg)
	r := openReader(t, srv.Addr(), db)
	waitRows(t, r.Conn(), 13, "SELECT uniqExact(src) FROM dm_user_log")
	waitRows(t, r.Conn(), 3, "SELECT count() FROM events FINAL")
	ctx := context.Background()

	ts := func(s int) *ration.Timestamp { return ration.NewTimestamp(d.at(s)) }
	high, normal := "high", "normal"
	for _, want := range []ration.DMUser{
		{UserID: "u-reg", State: ration.DMUnmarked},
		{UserID: "u-pend", State: ration.DMPending, Priority: &normal, MarkedAt: ts(1)},
		{UserID: "u-ok", State: ration.DMChecked, Priority: &high, MarkedAt: ts(1), CheckedAt: ts(2), OpenDM: &yes, Attempts: 2},
		{UserID: "u-fail", State: ration.DMFailed, Priority: &normal, MarkedAt: ts(1), CheckedAt: ts(3), Attempts: 4},
		{UserID: "u-remark", State: ration.DMPending, Priority: &high, MarkedAt: ts(5)},
	} {
		got, err := r.DMUser(ctx, want.UserID)
		if err != nil {
			t.Fatal(err)
		}
		if jsonish(got) != jsonish(want) {
			t.Fatalf("got  %s\nwant %s", jsonish(got), jsonish(want))
		}
	}

	t.Run("aborted records never arrive", func(t *testing.T) {
		if _, err := r.DMUser(ctx, "ghost"); !errors.Is(err, ration.ErrNotFound) {
			t.Fatalf("ghost: %v", err)
		}
		if n, err := count(r.Conn(), "SELECT count() FROM dm_user_log WHERE ts_ms = ?", uint64(d.at(90).UnixMilli())); n != 0 || err != nil {
			t.Fatalf("aborted mark stored: %d rows, %v", n, err)
		}
	})
	t.Run("a record that does not decode is skipped", func(t *testing.T) {
		if n := metric(t, reg, "ration_sink_decode_errors_total"); n != 1 {
			t.Fatalf("decode errors %v, want 1", n)
		}
	})
	t.Run("events keep their columns", func(t *testing.T) {
		var item, status, stage string
		var attempt uint16
		var ms uint64
		err := r.Conn().QueryRow(ctx, "SELECT item_id, toString(status), stage, attempt, time_ms FROM events WHERE status = 'FAILED'").
			Scan(&item, &status, &stage, &attempt, &ms)
		if err != nil {
			t.Fatal(err)
		}
		if item != "u-fail" || status != "FAILED" || stage != "check" || attempt != 1 || ms != uint64(d.at(3).UnixMilli()) {
			t.Fatalf("event %s %s %s %d %d", item, status, stage, attempt, ms)
		}
	})
	t.Run("a new mark turns checked into pending until its result", func(t *testing.T) {
		produce(t, plain, d.mark("u-ok", schemas.PriorityNormal, 10))
		waitUser(t, r, "u-ok", ration.DMUser{UserID: "u-ok", State: ration.DMPending, Priority: &normal, MarkedAt: ts(10)})
		produce(t, plain, d.result("u-ok", 10, 11, schemas.ResultChecked, &no, 1))
		waitUser(t, r, "u-ok", ration.DMUser{UserID: "u-ok", State: ration.DMChecked, Priority: &normal, MarkedAt: ts(10),
			CheckedAt: ts(11), OpenDM: &no, Attempts: 1})
	})
	t.Run("lists and stats", func(t *testing.T) {
		p, err := r.DMUsers(ctx, ration.DMPending, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Users) != 2 || p.Users[0].UserID != "u-pend" || p.Users[1].UserID != "u-remark" || p.Next != "" {
			t.Fatalf("pending page %+v", p)
		}
		st, err := r.DMStats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		st.OldestPendingAgeSeconds = 0 // measured against the wall clock
		if want := (ration.DMStats{Unmarked: 1, Pending: 2, Checked: 1, Failed: 1}); st != want {
			t.Fatalf("stats %+v, want %+v", st, want)
		}
	})
}

func waitUser(t testing.TB, r *Reader, id string, want ration.DMUser) {
	t.Helper()
	waitFor(t, 30*time.Second, "user "+id, func() (bool, string) {
		got, err := r.DMUser(context.Background(), id)
		return err == nil && jsonish(got) == jsonish(want), fmt.Sprintf("got %s, err %v", jsonish(got), err)
	})
}

// snapshot is every answer the reader gives, for comparing before and
// after a replay.
type snapshot struct {
	Stats ration.DMStats
	Pages map[ration.DMState][]string
	Final uint64
}

func takeSnapshot(t testing.TB, r *Reader) snapshot {
	t.Helper()
	ctx := context.Background()
	s := snapshot{Pages: make(map[ration.DMState][]string)}
	var err error
	if s.Stats, err = r.DMStats(ctx); err != nil {
		t.Fatal(err)
	}
	s.Stats.OldestPendingAgeSeconds = 0 // the wall clock moves
	for _, st := range []ration.DMState{ration.DMUnmarked, ration.DMPending, ration.DMChecked, ration.DMFailed} {
		p, err := r.DMUsers(ctx, st, "", 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range p.Users {
			s.Pages[st] = append(s.Pages[st], jsonish(u))
		}
	}
	if s.Final, err = count(r.Conn(), "SELECT count() FROM dm_user_log FINAL"); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestReplayChangesNoAnswer(t *testing.T) {
	srv := chtest.Shared(t)
	env := newKafka(t, 3)
	db := newDB(t)
	d := dm{t: t, env: env, base: time.UnixMilli(1_750_000_000_000).UTC()}
	var recs []*kgo.Record
	for i := range 40 {
		id := fmt.Sprintf("r%02d", i)
		open := i%2 == 0
		recs = append(recs, d.user(id))
		if i%4 != 0 {
			recs = append(recs, d.mark(id, schemas.PriorityNormal, i))
		}
		switch i % 4 {
		case 2:
			recs = append(recs, d.result(id, i, i+1, schemas.ResultChecked, &open, 1))
		case 3:
			recs = append(recs, d.result(id, i, i+1, schemas.ResultFailed, nil, 3), d.event(id, schemas.StatusFailed, i+1))
		}
	}
	produce(t, env.client(t), recs...)
	dmRows := uint64(len(recs) - 10) // ten are events

	stopA := startSink(t, testConfig(srv.Addr(), db, "first"), env, nil)
	r := openReader(t, srv.Addr(), db)
	waitRows(t, r.Conn(), dmRows, "SELECT uniqExact(src) FROM dm_user_log")
	waitRows(t, r.Conn(), 10, "SELECT uniqExact(event_id) FROM events")
	before := takeSnapshot(t, r)
	if err := stopA(); err != nil {
		t.Fatal(err)
	}
	admin := env.client(t)
	first, err := committed(admin, "first")
	if err != nil {
		t.Fatal(err)
	}

	// A new group reads everything again and stores every row a second time.
	reg := prometheus.NewRegistry()
	startSink(t, testConfig(srv.Addr(), db, "second"), env, reg)
	waitFor(t, 30*time.Second, "second group caught up", func() (bool, string) {
		got, err := committed(admin, "second")
		return err == nil && reflect.DeepEqual(got, first), fmt.Sprintf("second %v, first %v, err %v", got, first, err)
	})
	if n := metric(t, reg, "ration_sink_rows_inserted_total"); n != float64(len(recs)) {
		t.Fatalf("replay inserted %v rows, want %d", n, len(recs))
	}
	if after := takeSnapshot(t, r); !reflect.DeepEqual(after, before) {
		t.Fatalf("answers changed by a replay:\nbefore %+v\nafter  %+v", before, after)
	}
	if n, _ := count(r.Conn(), "SELECT count() FROM events FINAL"); n != 10 {
		t.Fatalf("events FINAL = %d after replay, want 10", n)
	}
}
