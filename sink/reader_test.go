package sink

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/schemas"
)

// store converts records as the sink does and inserts their rows.
func store(t testing.TB, conn driver.Conn, db string, codec *schemas.Codec, recs []*kgo.Record) {
	t.Helper()
	qdb, _ := QuoteDB(db)
	byTable := make(map[*table][][]any)
	for i, r := range recs {
		r.Partition, r.Offset = 0, int64(i)
		rw, err := convert(codec, r)
		if err != nil {
			t.Fatal(err)
		}
		byTable[rw.table] = append(byTable[rw.table], rw.values)
	}
	for tb, rows := range byTable {
		if err := insertRows(context.Background(), conn, qdb, tb, rows); err != nil {
			t.Fatal(err)
		}
	}
}

// pagingUniverse is 2 500 users in every state; it returns their records
// and the expected state of each.
func pagingUniverse(t testing.TB, codec *schemas.Codec, base time.Time) ([]*kgo.Record, map[string]ration.DMState, []string) {
	enc := func(topic string, v schemas.Record) *kgo.Record {
		b, err := codec.Encode(v)
		if err != nil {
			t.Fatal(err)
		}
		return &kgo.Record{Topic: topic, Value: b}
	}
	var recs []*kgo.Record
	states := make(map[string]ration.DMState)
	var ids []string
	for i := range 2500 {
		id := fmt.Sprintf("u%05d", i)
		ids = append(ids, id)
		marked := base.Add(time.Duration(i) * time.Second)
		mark := func(at time.Time, p schemas.Priority) {
			recs = append(recs, enc(schemas.TopicDMChecks, &schemas.DMMark{UserID: id, Priority: p, MarkedAt: at}))
		}
		result := func(at time.Time, st schemas.ResultStatus, open *bool, attempts int) {
			recs = append(recs, enc(schemas.TopicDMResults, &schemas.DMResult{UserID: id, Priority: schemas.PriorityNormal,
				MarkedAt: at, CheckedAt: at.Add(time.Second), Status: st, OpenDM: open, Attempts: attempts, Worker: "w"}))
		}
		recs = append(recs, enc(schemas.TopicDMUsers, &schemas.DMUser{UserID: id, RegisteredAt: base}))
		open := i%4 == 2
		switch {
		case i%50 == 0:
			mark(marked, schemas.PriorityNormal)
			result(marked, schemas.ResultFailed, nil, 4)
			states[id] = ration.DMFailed
		case i%3 == 0:
			states[id] = ration.DMUnmarked
		case i%3 == 1:
			if i%7 == 1 { // checked once, then marked again
				mark(marked.Add(-time.Hour), schemas.PriorityNormal)
				result(marked.Add(-time.Hour), schemas.ResultChecked, &open, 1)
			}
			mark(marked, schemas.PriorityHigh)
			states[id] = ration.DMPending
		default:
			mark(marked, schemas.PriorityNormal)
			result(marked, schemas.ResultChecked, &open, 1)
			states[id] = ration.DMChecked
		}
	}
	return recs, states, ids
}

func TestReader(t *testing.T) {
	r, db := newReader(t)
	codec := testCodec(t)
	base := time.UnixMilli(1_750_000_000_000).UTC()
	recs, states, ids := pagingUniverse(t, codec, base)
	// Every row twice, as a replay would store it before a merge: no
	// answer may change.
	store(t, r.Conn(), db, codec, recs)
	store(t, r.Conn(), db, codec, recs)
	ctx := context.Background()

	t.Run("pages hold every matching user once, in order", func(t *testing.T) {
		for _, tc := range []struct {
			state ration.DMState
			limit int
		}{{ration.DMFailed, 1}, {ration.DMPending, 7}, {ration.DMChecked, 1000}, {ration.DMUnmarked, 1000}, {"", 1000}} {
			var want []string
			for _, id := range ids {
				if tc.state == "" || states[id] == tc.state {
					want = append(want, id)
				}
			}
			var got []string
			cursor := ""
			for page := 0; ; page++ {
				p, err := r.DMUsers(ctx, tc.state, cursor, tc.limit)
				if err != nil {
					t.Fatal(err)
				}
				if len(p.Users) > tc.limit || (p.Next != "" && len(p.Users) != tc.limit) {
					t.Fatalf("%q/%d page %d: %d users, next %q", tc.state, tc.limit, page, len(p.Users), p.Next)
				}
				for _, u := range p.Users {
					if tc.state != "" && u.State != tc.state {
						t.Fatalf("%q page holds %+v", tc.state, u)
					}
					if u.State != states[u.UserID] {
						t.Fatalf("%s: state %s, want %s", u.UserID, u.State, states[u.UserID])
					}
					got = append(got, u.UserID)
				}
				if p.Next == "" {
					break
				}
				cursor = p.Next
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("%q/%d: got %d users, want %d (first got %.60v)", tc.state, tc.limit, len(got), len(want), got)
			}
		}
	})
	t.Run("one user", func(t *testing.T) {
		ms := func(i int) *ration.Timestamp { return ration.NewTimestamp(base.Add(time.Duration(i) * time.Second)) }
		yes, no := true, false
		high, normal := "high", "normal"
		for _, want := range []ration.DMUser{
			{UserID: "u00000", State: ration.DMFailed, Priority: &normal, MarkedAt: ms(0), CheckedAt: ms(1), Attempts: 4},
			{UserID: "u00003", State: ration.DMUnmarked},
			{UserID: "u00002", State: ration.DMChecked, Priority: &normal, MarkedAt: ms(2), CheckedAt: ms(3), OpenDM: &yes, Attempts: 1},
			{UserID: "u00005", State: ration.DMChecked, Priority: &normal, MarkedAt: ms(5), CheckedAt: ms(6), OpenDM: &no, Attempts: 1},
			{UserID: "u00022", State: ration.DMPending, Priority: &high, MarkedAt: ms(22)}, // re-marked after a check
		} {
			got, err := r.DMUser(ctx, want.UserID)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(jsonish(got)) != fmt.Sprint(jsonish(want)) {
				t.Fatalf("got  %v\nwant %v", jsonish(got), jsonish(want))
			}
		}
		if _, err := r.DMUser(ctx, "nobody"); !errors.Is(err, ration.ErrNotFound) {
			t.Fatalf("unknown user: %v", err)
		}
	})
	t.Run("stats", func(t *testing.T) {
		now := base.Add(time.Hour)
		r.now = func() time.Time { return now }
		var want ration.DMStats
		var oldest time.Time
		for i, id := range ids {
			switch states[id] {
			case ration.DMUnmarked:
				want.Unmarked++
			case ration.DMPending:
				want.Pending++
				if oldest.IsZero() {
					oldest = base.Add(time.Duration(i) * time.Second)
				}
			case ration.DMChecked:
				want.Checked++
			case ration.DMFailed:
				want.Failed++
			}
		}
		want.OldestPendingAgeSeconds = now.Sub(oldest).Seconds()
		got, err := r.DMStats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("got %+v\nwant %+v", got, want)
		}
	})
	t.Run("bad requests", func(t *testing.T) {
		for _, cursor := range []string{"***", encodeCursor("white space")} {
			if _, err := r.DMUsers(ctx, ration.DMPending, cursor, 10); !errors.Is(err, ration.ErrBadCursor) {
				t.Fatalf("cursor %q: %v, want ErrBadCursor", cursor, err)
			}
		}
		if _, err := r.DMUsers(ctx, "sleeping", "", 10); err == nil {
			t.Fatal("unknown state accepted")
		}
		if _, err := r.DMUsers(ctx, ration.DMPending, "", 0); err == nil {
			t.Fatal("limit 0 accepted")
		}
	})
}

// jsonish renders a user with its pointers followed, for comparing.
func jsonish(u ration.DMUser) string {
	s := fmt.Sprintf("%s %s attempts=%d", u.UserID, u.State, u.Attempts)
	if u.Priority != nil {
		s += " priority=" + *u.Priority
	}
	if u.MarkedAt != nil {
		s += " marked=" + u.MarkedAt.UTC().Format(ration.TimestampLayout)
	}
	if u.CheckedAt != nil {
		s += " checked=" + u.CheckedAt.UTC().Format(ration.TimestampLayout)
	}
	if u.OpenDM != nil {
		s += fmt.Sprintf(" open=%v", *u.OpenDM)
	}
	return s
}
