package points

import (
	"cmp"
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"slices"
	"testing"
	"testing/fstest"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/internal/chserver/chtest"
	"github.com/rationhq/ration/internal/kafkatest"
	"github.com/rationhq/ration/schemas"
	"github.com/rationhq/ration/sink"
)

// openWith opens a new database of the shared server with migrations
// applied (all of the pipeline's when nil).
func openWith(t testing.TB, migrations fs.FS) (driver.Conn, string) {
	t.Helper()
	db := fmt.Sprintf("t_points_%d", time.Now().UnixNano())
	return open(t, db, migrations), db
}

// open opens database db of the shared server with migrations applied
// (all of the pipeline's when nil), as a binary's start does.
func open(t testing.TB, db string, migrations fs.FS) driver.Conn {
	t.Helper()
	if migrations == nil {
		migrations = New().Migrations
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := sink.Open(ctx, sink.Target{ClickHouse: chtest.Shared(t).Addr(), Database: db}, sink.Migrations{Owner: Name, FS: migrations})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// outcomeRowsOf is the rows the sink stores for outcomes.
func outcomeRowsOf(t testing.TB, codec *schemas.Codec, outcomes ...Outcome) []sink.Row {
	t.Helper()
	var rows []sink.Row
	for _, o := range outcomes {
		b, err := codec.Encode(&o)
		if err != nil {
			t.Fatal(err)
		}
		r, err := outcomeRows(codec, &kgo.Record{Topic: TopicOutcomes, Value: b})
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r...)
	}
	return rows
}

// historyOf makes the outcomes of a history: groups created and joined by
// users, then bills and redemptions, at times that leave a user quiet for
// a year or more (so a page of theirs looks further back than its first
// window), some commands rejected.
func historyOf(r *rand.Rand, groups, users int, start time.Time, span time.Duration) []Outcome {
	var out []Outcome
	seq := make([]int64, groups)
	balance := make([]int64, groups)
	entry := func(g, u int, at time.Time, kind string, points int64) {
		o := Outcome{ID: fmt.Sprintf("u%d/c%d", u, len(out)), CommandID: fmt.Sprintf("c%d", len(out)), Issuer: fmt.Sprintf("u%d", u),
			Kind: kind, GroupID: fmt.Sprintf("g%d", g), UserID: fmt.Sprintf("u%d", u), Outcome: Applied,
			Digest: fmt.Sprintf("d%d", len(out)), At: at.UTC().Truncate(time.Millisecond)}
		if balance[g]+points < 0 {
			o.Outcome, o.Reason, o.Balance = Rejected, "not enough points", balance[g]
		} else {
			seq[g]++
			balance[g] += points
			o.Seq, o.Points, o.Balance = seq[g], points, balance[g]
		}
		out = append(out, o)
	}
	for g := range groups {
		entry(g, g%users, start.Add(time.Duration(g)*time.Minute), KindCreate, 0)
		for u := range users {
			if u != g%users && r.IntN(2) == 0 {
				entry(g, u, start.Add(time.Duration(g)*time.Minute+time.Duration(u+1)*time.Second), KindJoin, 0)
			}
		}
	}
	members := map[int][]int{}
	for _, o := range out {
		var g, u int
		fmt.Sscanf(o.GroupID, "g%d", &g)
		fmt.Sscanf(o.UserID, "u%d", &u)
		members[g] = append(members[g], u)
	}
	at := start.Add(time.Hour)
	for at.Before(start.Add(span)) {
		g := r.IntN(groups)
		u := members[g][r.IntN(len(members[g]))]
		if r.IntN(3) == 0 {
			entry(g, u, at, KindRedeem, -int64(10+r.IntN(100)))
		} else {
			entry(g, u, at, KindBill, int64(1+r.IntN(60)))
		}
		at = at.Add(time.Duration(r.Int64N(int64(span) / 40)))
		if r.IntN(20) == 0 { // a quiet year
			at = at.Add(365 * 24 * time.Hour)
		}
	}
	return out
}

// TestReadsAnswerTheLedger: a group's history, a user's history and a
// user's groups, each read page by page, give every entry exactly once,
// newest first, with every row stored and some stored twice (the sink's
// replays); a poll finds every command's outcome, applied or rejected.
func TestReadsAnswerTheLedger(t *testing.T) {
	conn, db := openWith(t, nil)
	codec := kafkatest.Codec(t, kafkatest.Setup{Records: []schemas.Record{new(Outcome)}})
	r := rand.New(rand.NewPCG(3, 4))
	const groups, users = 4, 5
	start := time.Now().Add(-6 * 365 * 24 * time.Hour)
	outcomes := historyOf(r, groups, users, start, 5*365*24*time.Hour)
	rows := outcomeRowsOf(t, codec, outcomes...)
	for _, row := range rows {
		if r.IntN(4) == 0 {
			rows = append(rows, row) // replayed
		}
	}
	ctx := context.Background()
	if err := sink.Insert(ctx, conn, db, rows); err != nil {
		t.Fatal(err)
	}
	reader, err := NewReader(conn, db)
	if err != nil {
		t.Fatal(err)
	}
	checkReads(t, reader, outcomes, start)
}

// checkReads checks every read of reader against outcomes.
func checkReads(t *testing.T, reader *Reader, outcomes []Outcome, signedUp time.Time) {
	t.Helper()
	ctx := context.Background()
	byGroup, byUser, joined := map[string][]ration.PointsEntry{}, map[string][]ration.PointsEntry{}, map[string][]string{}
	last := map[string]int64{}
	for _, o := range outcomes {
		if o.Outcome != Applied {
			continue
		}
		e := ration.PointsEntry{GroupID: o.GroupID, Seq: o.Seq, At: ration.Timestamp{Time: o.At.UTC()}, Kind: o.Kind,
			CommandID: o.CommandID, Issuer: o.Issuer, UserID: o.UserID, Points: o.Points, Balance: o.Balance}
		byGroup[o.GroupID] = append(byGroup[o.GroupID], e)
		byUser[o.UserID] = append(byUser[o.UserID], e)
		last[o.GroupID] = o.Seq
		if o.Kind == KindCreate || o.Kind == KindJoin {
			joined[o.UserID] = append(joined[o.UserID], o.GroupID)
		}
	}
	// pages reads every page of a history, and fails when one more page
	// would be more than the entries.
	pages := func(read func(cursor string) (ration.PointsHistory, error)) (all []ration.PointsEntry, n int) {
		cursor := ""
		for n <= len(outcomes) {
			page, err := read(cursor)
			if err != nil {
				t.Fatal(err)
			}
			all, n = append(all, page.Entries...), n+1
			if page.NextCursor == "" {
				return all, n
			}
			cursor = page.NextCursor
		}
		t.Fatalf("more pages than entries: %d, cursor %q", n, cursor)
		return nil, 0
	}
	for g, want := range byGroup {
		slices.Reverse(want)
		got, n := pages(func(cursor string) (ration.PointsHistory, error) {
			return reader.GroupHistory(ctx, g, last[g], cursor, 7)
		})
		if !slices.Equal(got, want) {
			t.Fatalf("group %s in %d pages: %d entries\n%v\nwant %d\n%v", g, n, len(got), got, len(want), want)
		}
	}
	for u, want := range byUser {
		slices.SortFunc(want, func(a, b ration.PointsEntry) int {
			return cmp.Or(b.At.Compare(a.At.Time), cmp.Compare(b.GroupID, a.GroupID), cmp.Compare(b.Seq, a.Seq))
		})
		got, n := pages(func(cursor string) (ration.PointsHistory, error) {
			return reader.UserHistory(ctx, u, signedUp, cursor, 5)
		})
		if !slices.Equal(got, want) {
			t.Fatalf("user %s in %d pages: %d entries\n%v\nwant %d\n%v", u, n, len(got), got, len(want), want)
		}
		groups, err := reader.UserGroups(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(joined[u])
		if !slices.Equal(groups, joined[u]) {
			t.Fatalf("groups of %s: %v, want %v", u, groups, joined[u])
		}
	}
	for _, o := range outcomes {
		got, err := reader.Outcome(ctx, o.GroupID, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Outcome != o.Outcome || got.Seq != o.Seq || got.Balance != o.Balance || got.Digest != o.Digest || !got.At.Equal(o.At) {
			t.Fatalf("outcome of %s: %+v, want %+v", o.ID, got, o)
		}
	}
	sums, err := reader.LedgerSums(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for g, entries := range byGroup {
		if s := sums[g]; s[1] != int64(len(entries)) || s[0] != entries[0].Balance {
			t.Fatalf("group %s sums to %d over %d entries, want %d over %d", g, s[0], s[1], entries[0].Balance, len(entries))
		}
	}
}

// TestBackfilled: what was stored before migration 0002 (in points_ledger,
// points_commands and points_ledger_by_user) is read alike once it is
// applied.
func TestBackfilled(t *testing.T) {
	all := New().Migrations
	first := fstest.MapFS{}
	b, err := fs.ReadFile(all, "0001_ledger.sql")
	if err != nil {
		t.Fatal(err)
	}
	first["0001_ledger.sql"] = &fstest.MapFile{Data: b}
	conn, db := openWith(t, first)
	codec := kafkatest.Codec(t, kafkatest.Setup{Records: []schemas.Record{new(Outcome)}})
	start := time.Now().Add(-3 * 365 * 24 * time.Hour)
	outcomes := historyOf(rand.New(rand.NewPCG(5, 6)), 3, 4, start, 2*365*24*time.Hour)
	var rows []sink.Row
	for _, row := range outcomeRowsOf(t, codec, outcomes...) {
		if old, ok := beforeByKey[row.Table]; ok {
			rows = append(rows, sink.Row{Table: old, Values: row.Values})
		}
	}
	if err := sink.Insert(context.Background(), conn, db, rows); err != nil {
		t.Fatal(err)
	}
	reader, err := NewReader(open(t, db, nil), db) // every migration applied now
	if err != nil {
		t.Fatal(err)
	}
	checkReads(t, reader, outcomes, start)
}

// beforeByKey is where the tables of migration 0002 were stored before it.
var beforeByKey = map[*sink.Table]*sink.Table{
	ledgerTable:   {Name: "points_ledger", Columns: ledgerTable.Columns},
	byUserTable:   {Name: "points_ledger_by_user", Columns: byUserTable.Columns},
	commandsTable: {Name: "points_commands", Columns: commandsTable.Columns},
}
