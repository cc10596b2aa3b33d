package points

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/rationhq/ration/internal/chserver/chtest"
	"github.com/rationhq/ration/internal/kafkatest"
	"github.com/rationhq/ration/schemas"
	"github.com/rationhq/ration/sink"
)

// BenchmarkReads times the points API's reads from ClickHouse with N
// ledger entries stored over 20 years, in time order as the ledger
// decides them: groups of five users with 1 000 entries each (so a page
// spans the same stretch of time at every N), one command in ten
// rejected. Each read is asked as the reader asks it (migration 0002's
// tables, a page by entry numbers or by time windows) and, as the
// baseline in the same run, as it was asked before: the group and the
// poll of migration 0001's monthly tables, a user's page and groups over
// all of the user's rows.
//
//	go test -run '^$' -bench Reads -benchtime 100x ./pipelines/points
func BenchmarkReads(b *testing.B) {
	const perGroup, perGroupUsers, years, limit = 1000, 5, 20, 100
	for _, n := range []int{100_000, 1_000_000} {
		conn, db := openWith(b, nil)
		codec := kafkatest.Codec(b, kafkatest.Setup{Records: []schemas.Record{new(Outcome)}})
		ctx := context.Background()
		groups := n / perGroup
		span := years * 365 * 24 * time.Hour
		start := time.Now().Add(-span)
		seq := make([]int64, groups)
		commands, commandGroup := make([]string, 0, n), make([]int, 0, n)
		var batch []Outcome
		flush := func() {
			var rows []sink.Row
			for _, row := range outcomeRowsOf(b, codec, batch...) {
				rows = append(rows, row)
				if old, ok := beforeByKey[row.Table]; ok {
					rows = append(rows, sink.Row{Table: old, Values: row.Values})
				}
			}
			if err := sink.Insert(ctx, conn, db, rows); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
		r := rand.New(rand.NewPCG(uint64(n), 9))
		for i := range n {
			g := r.IntN(groups)
			kind, points := KindBill, int64(1+r.IntN(60))
			if seq[g] < perGroupUsers {
				kind, points = KindJoin, 0
				if seq[g] == 0 {
					kind = KindCreate
				}
			}
			o := Outcome{ID: "till/" + strconv.Itoa(i), CommandID: strconv.Itoa(i), Issuer: "till", Kind: kind,
				GroupID: "g" + strconv.Itoa(g), UserID: benchUser(g, int(seq[g])%perGroupUsers), Outcome: Applied,
				Digest: "d", At: start.Add(time.Duration(i) * (span / time.Duration(n)))}
			if r.IntN(10) == 0 && kind == KindBill {
				o.Outcome, o.Reason = Rejected, "not enough points"
			} else {
				seq[g]++
				o.Seq, o.Points = seq[g], points
			}
			commands, commandGroup = append(commands, o.ID), append(commandGroup, g)
			if batch = append(batch, o); len(batch) == 50_000 || i == n-1 {
				flush()
			}
		}
		chtest.AwaitMerges(b, conn, db)
		reader, err := NewReader(conn, db)
		if err != nil {
			b.Fatal(err)
		}
		entry := `SELECT ` + entryColumns + ` FROM ` + reader.qdb
		baseline := map[string]string{
			"group_page": entry + `.points_ledger WHERE group_id = ? AND seq < ? ORDER BY seq DESC LIMIT 1 BY seq LIMIT ?`,
			"user_page": entry + `.points_ledger_by_user WHERE user_id = ? AND at_ms < ?
ORDER BY at_ms DESC, group_id DESC, seq DESC LIMIT 1 BY group_id, seq LIMIT ?`,
			"user_groups": `SELECT DISTINCT group_id FROM ` + reader.qdb + `.points_ledger_by_user
WHERE user_id = ? AND kind IN ('create', 'join') ORDER BY group_id`,
			"poll": `SELECT toString(outcome), seq FROM ` + reader.qdb + `.points_commands WHERE group_id = ? AND id = ? LIMIT 1`,
		}
		// Each read of group g, user u of it or command c, asked by the
		// reader, and the arguments of its baseline query; each returns how
		// many rows it answered.
		type read struct {
			name     string
			reader   func(g, u, c int) (int, error)
			baseline func(g, u, c int) []any
		}
		for _, rd := range []read{
			{"group_page", func(g, _, _ int) (int, error) {
				h, err := reader.GroupHistory(ctx, "g"+strconv.Itoa(g), seq[g], "", limit)
				return len(h.Entries), err
			}, func(g, _, _ int) []any { return []any{"g" + strconv.Itoa(g), uint64(1<<63 - 1), limit} }},
			{"user_page", func(g, u, _ int) (int, error) {
				h, err := reader.UserHistory(ctx, benchUser(g, u), start, "", limit)
				return len(h.Entries), err
			}, func(g, u, _ int) []any { return []any{benchUser(g, u), uint64(1<<63 - 1), limit} }},
			{"user_groups", func(g, u, _ int) (int, error) {
				ids, err := reader.UserGroups(ctx, benchUser(g, u))
				return len(ids), err
			}, func(g, u, _ int) []any { return []any{benchUser(g, u)} }},
			{"poll", func(_, _, c int) (int, error) {
				_, err := reader.Outcome(ctx, "g"+strconv.Itoa(commandGroup[c]), commands[c])
				return 1, err
			}, func(_, _, c int) []any { return []any{"g" + strconv.Itoa(commandGroup[c]), commands[c]} }},
		} {
			for _, way := range []string{"reader", "before"} {
				b.Run(fmt.Sprintf("entries=%d/%s/%s", n, rd.name, way), func(b *testing.B) {
					for b.Loop() {
						g, u, c := r.IntN(groups), r.IntN(perGroupUsers), r.IntN(n)
						var got int
						var err error
						if way == "reader" {
							got, err = rd.reader(g, u, c)
						} else {
							got, err = countRows(ctx, conn, baseline[rd.name], rd.baseline(g, u, c)...)
						}
						if err != nil || got == 0 {
							b.Fatalf("%s of g%d, user %d, command %d: %d rows, %v", rd.name, g, u, c, got, err)
						}
					}
				})
			}
		}
		for _, t := range []string{"points_group_ledger", "points_ledger", "points_command_outcomes", "points_commands",
			"points_user_ledger", "points_ledger_by_user"} {
			b.Logf("%d entries: %s has %d active parts", n, t, chtest.ActiveParts(b, conn, db, t))
		}
	}
}

// countRows runs query and counts the rows it answers.
func countRows(ctx context.Context, conn driver.Conn, query string, args ...any) (int, error) {
	rows, err := conn.Query(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
	}
	return n, rows.Err()
}

// benchUser is user u of group g.
func benchUser(g, u int) string { return fmt.Sprintf("u%d-%d", g, u) }
