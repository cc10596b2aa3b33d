package receipts

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/twmb/franz-go/pkg/kgo"

	receiptsamples "github.com/rationhq/ration/docs/receipts"
	"github.com/rationhq/ration/internal/kafkatest"
	"github.com/rationhq/ration/processor"
	"github.com/rationhq/ration/schemas"
	"github.com/rationhq/ration/sink"
)

// TestRollupsAreExact: accepted receipts over many New Year seasons, folded
// by the totals view in batches over four buckets and stored by the sink
// with replays (lines and totals inserted twice, older versions among
// them), answer the analysts' queries exactly as the receipts themselves
// sum up: the New Year question and revenue by category and year from the
// rollups, a client's last 30 days from the lines. So do the same rows
// stored before migration 0007, whose rollup by day it copies from
// receipt_totals_by_day into receipt_daily_totals.
func TestRollupsAreExact(t *testing.T) {
	codec := kafkatest.Codec(t, kafkatest.Setup{Records: []schemas.Record{new(Receipt), new(ReceiptTotal)}})
	r := rand.New(rand.NewPCG(21, 22))
	view := &totalsView{codec: codec}
	store := processor.NewMemoryStore()
	categories := []string{"food", "drinks", "toys"}

	wantNewYear, wantByYear := map[yearCategory]float64{}, map[yearCategory]float64{}
	wantRecent := map[string]float64{} // shop's receipts of the last 30 days
	var rows []sink.Row
	now := time.Now().UTC()
	for i := range 1500 {
		var issued time.Time
		switch r.IntN(3) {
		case 0: // a New Year season of the last 20 years
			y := now.Year() - 1 - r.IntN(19)
			issued = time.Date(y, 12, 24, 10, 0, 0, 0, time.UTC).Add(time.Duration(r.IntN(14*24)) * time.Hour)
		case 1: // the last 30 days
			issued = now.Add(-time.Duration(r.IntN(29*24)) * time.Hour)
		default: // any time of the last 20 years
			issued = now.AddDate(-r.IntN(20), 0, 0).Add(-time.Duration(r.IntN(365*24)) * time.Hour)
		}
		client := []string{"shop", "kiosk"}[r.IntN(2)]
		var lines []Line
		total := 0.0
		for range 1 + r.IntN(4) {
			amount := float64(1+r.IntN(10000)) / 100
			lines = append(lines, Line{Product: "p", Category: categories[r.IntN(3)], Quantity: 1, Price: amount, Amount: amount})
			total += amount
		}
		value, _ := json.Marshal(map[string]any{"issued_at": issued.Format(time.RFC3339), "currency": "EUR", "lines": lines, "total": total})
		id := ID(client, fmt.Sprintf("R-%05d", i))
		rc := Receipt{ID: id, Client: client, ReceiptID: fmt.Sprintf("R-%05d", i), Type: "retail", Value: string(value),
			Digest: "d", ReceivedAt: issued, LogisticsRegisteredAt: issued}
		b, err := codec.Encode(&rc)
		if err != nil {
			t.Fatal(err)
		}
		rec := &kgo.Record{Topic: TopicRegistered, Partition: int32(i % 4), Key: []byte(id), Value: b}
		if _, err := view.Process(context.Background(), rec, processor.StoreState(store, rec.Partition)); err != nil {
			t.Fatal(err)
		}
		lr, err := lineRows(codec, rec)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, lr...)
		if r.IntN(5) == 0 {
			rows = append(rows, lr...) // replayed
		}
		newYear := issued.Year()
		if issued.Month() == 12 {
			newYear++
		}
		inSeason := (issued.Month() == 12 && issued.Day() >= 24) || (issued.Month() == 1 && issued.Day() <= 7)
		for _, l := range lines {
			wantByYear[yearCategory{issued.Year(), l.Category}] += l.Amount
			if inSeason && !issued.Before(time.Date(now.Year()-20, 12, 24, 0, 0, 0, 0, time.UTC)) {
				wantNewYear[yearCategory{newYear, l.Category}] += l.Amount
			}
			if client == "shop" && !issued.Before(now.Truncate(24*time.Hour).AddDate(0, 0, -30)) {
				wantRecent[id] += l.Amount
			}
		}
		if r.IntN(40) == 0 || i == 1499 { // a batch ends: the changed totals
			for b := range int32(4) {
				out, err := view.EndBatch(context.Background(), b, processor.StoreState(store, b))
				if err != nil {
					t.Fatal(err)
				}
				for _, o := range out {
					tr, err := totalRows(codec, o)
					if err != nil {
						t.Fatal(err)
					}
					rows = append(rows, tr...)
					if r.IntN(3) == 0 {
						rows = append(rows, tr...) // replayed
					}
				}
			}
		}
	}
	r.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	ctx := context.Background()
	insert := func(t *testing.T, conn driver.Conn, db string, rows []sink.Row) {
		for len(rows) > 0 {
			n := min(len(rows), 2000)
			if err := sink.Insert(ctx, conn, db, rows[:n]); err != nil {
				t.Fatal(err)
			}
			rows = rows[n:]
		}
	}
	t.Run("stored", func(t *testing.T) {
		conn, db := openDB(t)
		insert(t, conn, db, rows)
		checkRollupAnswers(t, conn, db, wantNewYear, wantByYear, wantRecent)
	})
	t.Run("stored before 0007", func(t *testing.T) {
		db := fmt.Sprintf("t_receipts_daily_%d", time.Now().UnixNano())
		before := &sink.Table{Name: "receipt_totals_by_day", Columns: byDayTable.Columns}
		old := make([]sink.Row, len(rows))
		for i, row := range rows {
			if row.Table == byDayTable {
				row.Table = before
			}
			old[i] = row
		}
		insert(t, openWith(t, db, migrationsBefore(t, "0007")), db, old)
		all, err := migrationFS()
		if err != nil {
			t.Fatal(err)
		}
		checkRollupAnswers(t, openWith(t, db, all), db, wantNewYear, wantByYear, wantRecent)
	})
}

// yearCategory is a row of an analyst's answer by year and category.
type yearCategory struct {
	year     int
	category string
}

// checkRollupAnswers runs the analysts' queries on db and compares their
// amounts with what the receipts sum up to.
func checkRollupAnswers(t *testing.T, conn driver.Conn, db string, wantNewYear, wantByYear map[yearCategory]float64, wantRecent map[string]float64) {
	t.Helper()
	ctx := context.Background()
	query := func(name, client string) map[yearCategory]float64 {
		t.Helper()
		q, err := receiptsamples.Query(name, db, client)
		if err != nil {
			t.Fatal(err)
		}
		rs, err := conn.Query(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		defer rs.Close()
		got := map[yearCategory]float64{}
		for rs.Next() {
			var (
				year             uint16
				category         string
				lines            uint64
				quantity, amount float64
			)
			switch name {
			case "new_year":
				err = rs.Scan(&year, &category, &lines, &quantity, &amount)
			default:
				err = rs.Scan(&year, &category, &amount, &lines)
			}
			if err != nil {
				t.Fatal(err)
			}
			got[yearCategory{int(year), category}] = amount
		}
		return got
	}
	same := func(what string, got, want map[yearCategory]float64) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d groups, want %d:\n got %v\nwant %v", what, len(got), len(want), got, want)
		}
		for k, w := range want {
			if math.Abs(got[k]-w) > 0.005 {
				t.Fatalf("%s %v: %.2f, want %.2f", what, k, got[k], w)
			}
		}
	}
	same("new year", query("new_year", ""), wantNewYear)
	same("revenue by category and year", query("revenue_by_category_year", ""), wantByYear)

	q, err := receiptsamples.Query("client_last_30_days", db, "shop")
	if err != nil {
		t.Fatal(err)
	}
	rs, err := conn.Query(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	got := map[string]float64{}
	for rs.Next() {
		var (
			id, typ, currency string
			date              time.Time
			lines             uint64
			amount            float64
		)
		if err := rs.Scan(&id, &typ, &date, &lines, &amount, &currency); err != nil {
			t.Fatal(err)
		}
		got[id] = amount
	}
	if len(got) != len(wantRecent) {
		t.Fatalf("shop's last 30 days: %d receipts, want %d", len(got), len(wantRecent))
	}
	for id, w := range wantRecent {
		if math.Abs(got[id]-w) > 0.005 {
			t.Fatalf("%s: %.2f, want %.2f", id, got[id], w)
		}
	}
}
