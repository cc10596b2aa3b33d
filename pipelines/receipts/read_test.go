package receipts

import (
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"slices"
	"testing"
	"testing/fstest"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/rationhq/ration/internal/chserver/chtest"
	"github.com/rationhq/ration/internal/kafkatest"
	"github.com/rationhq/ration/schemas"
	"github.com/rationhq/ration/sink"
)

// openDB opens a new database with the pipeline's migrations applied.
func openDB(t testing.TB) (driver.Conn, string) {
	t.Helper()
	migrations, err := migrationFS()
	if err != nil {
		t.Fatal(err)
	}
	db := fmt.Sprintf("t_receipts_%d", time.Now().UnixNano())
	return openWith(t, db, migrations), db
}

// openWith opens database db of the shared server with migrations applied.
func openWith(t testing.TB, db string, migrations fs.FS) driver.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := sink.Open(ctx, sink.Target{ClickHouse: chtest.Shared(t).Addr(), Database: db}, sink.Migrations{Owner: Name, FS: migrations})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// TestListPagesEveryMatchOnce: the read model's pages give every receipt
// of a client in a period, in a status and of a type, exactly once and in
// order, as the receipts' latest statuses say, with every version of every
// receipt stored and some stored twice (the sink's replays); a lookup
// gives a receipt's latest status and nothing of another client's.
func TestListPagesEveryMatchOnce(t *testing.T) {
	conn, db := openDB(t)
	codec := kafkatest.Codec(t, kafkatest.Setup{Records: []schemas.Record{new(ReceiptStatus)}})
	r := rand.New(rand.NewPCG(7, 8))
	base := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	paths := [][]Status{
		{StatusReceived},
		{StatusReceived, StatusTaxRegistered},
		{StatusReceived, StatusTaxRegistered, StatusAccepted},
		{StatusReceived, StatusRejected},
		{StatusReceived, StatusParked, StatusTaxRegistered, StatusParked},
	}
	latest := map[string]ReceiptStatus{}
	var rows []sink.Row
	for i := range 600 {
		client := []string{"shop", "fuel-co"}[r.IntN(2)]
		at := base.Add(time.Duration(r.IntN(60*24)) * time.Minute).UnixMilli()
		if r.IntN(5) == 0 {
			at = base.UnixMilli() + int64(r.IntN(3))*1000 // ties in time
		}
		s := ReceiptStatus{ID: ID(client, fmt.Sprintf("R-%04d", i)), Client: client, ReceiptID: fmt.Sprintf("R-%04d", i),
			Type: []string{"retail", "fuel"}[r.IntN(2)], ContentType: ContentJSON, ReceivedAt: at}
		prev := ""
		for v, st := range paths[r.IntN(len(paths))] {
			s.Status, s.PrevStatus, s.Version = string(st), prev, int64(v+1)
			if st == StatusAccepted {
				s.TaxRegistration, s.LogisticsRegistration, s.LogisticsRegisteredAt = "TAX-x", "LOG-x", at+1000
			}
			rs := statusRowsOf(t, codec, s)
			rows = append(rows, rs...)
			if r.IntN(4) == 0 {
				rows = append(rows, rs...) // replayed
			}
			prev = s.Status
		}
		latest[s.ID] = s
	}
	r.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	ctx := context.Background()
	for len(rows) > 0 { // several inserts: several parts, merged or not
		n := min(len(rows), 400)
		if err := sink.Insert(ctx, conn, db, rows[:n]); err != nil {
			t.Fatal(err)
		}
		rows = rows[n:]
	}
	reader, err := NewReader(conn, db)
	if err != nil {
		t.Fatal(err)
	}

	from, to := base.Add(6*time.Hour), base.Add(20*time.Hour)
	for _, f := range []Filter{
		{Client: "shop", From: base, To: base.Add(48 * time.Hour)},
		{Client: "shop", From: from, To: to},
		{Client: "fuel-co", From: base, To: base.Add(48 * time.Hour), Status: StatusParked},
		{Client: "shop", From: base, To: base.Add(48 * time.Hour), Status: StatusTaxRegistered}, // left by the accepted
		{Client: "fuel-co", From: base, To: base.Add(48 * time.Hour), Status: StatusReceived},   // left by most
		{Client: "fuel-co", From: from, To: to, Status: StatusAccepted, Type: "fuel"},
		{Client: "shop", From: base, To: base.Add(48 * time.Hour), Type: "retail"},
		{From: from, To: to},                         // every client's (an admin)
		{From: from, To: to, Status: StatusAccepted}, // every client's accepted
	} {
		var want []string
		for id, s := range latest {
			at := time.UnixMilli(s.ReceivedAt)
			if (f.Client == "" || s.Client == f.Client) && !at.Before(f.From) && at.Before(f.To) && (f.Status == "" || s.Status == string(f.Status)) &&
				(f.Type == "" || s.Type == f.Type) {
				want = append(want, id)
			}
		}
		slices.SortFunc(want, func(a, b string) int {
			if c := latest[a].ReceivedAt - latest[b].ReceivedAt; c != 0 {
				return int(c)
			}
			return cmpString(a, b)
		})
		for _, limit := range []int{1, 7, 1000} {
			f.Limit, f.Cursor = limit, ""
			var got []string
			for range len(want) + 2 {
				page, err := reader.List(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				for _, v := range page.Receipts {
					got = append(got, v.ID)
					if s := latest[v.ID]; string(v.Status) != s.Status || v.Type != s.Type {
						t.Fatalf("%s listed as %+v, latest %+v", v.ID, v, s)
					}
				}
				if page.Next == "" {
					break
				}
				f.Cursor = page.Next
			}
			if !slices.Equal(got, want) {
				t.Fatalf("filter %+v limit %d: %d receipts %v, want %d %v", f, limit, len(got), got, len(want), want)
			}
		}
	}
	for id, s := range latest {
		v, err := reader.Receipt(ctx, s.Client, id)
		if err != nil {
			t.Fatal(err)
		}
		if string(v.Status) != s.Status || (s.Status == string(StatusAccepted)) != (v.AcceptedAt != nil) {
			t.Fatalf("%s: %+v, latest %+v", id, v, s)
		}
		other := map[string]string{"shop": "fuel-co", "fuel-co": "shop"}[s.Client]
		if _, err := reader.Receipt(ctx, other, id); err == nil {
			t.Fatalf("%s found as %s's", id, other)
		}
	}
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestRepeatsAnswerConcurrentLookups: lookups made at once, many sharing
// queries, each get their own receipt's digest and status, or nothing for
// a receipt never stored, or another client's.
func TestRepeatsAnswerConcurrentLookups(t *testing.T) {
	conn, db := openDB(t)
	codec := kafkatest.Codec(t, kafkatest.Setup{Records: []schemas.Record{new(ReceiptStatus)}})
	var rows []sink.Row
	for i := range 200 {
		s := ReceiptStatus{ID: ID("shop", fmt.Sprintf("R-%d", i)), Client: "shop", ReceiptID: fmt.Sprintf("R-%d", i), Type: "retail",
			Digest: fmt.Sprintf("d%d", i), Status: string(StatusAccepted), ReceivedAt: time.Now().UnixMilli(), Version: 1}
		rs := statusRowsOf(t, codec, s)
		rows = append(rows, rs...)
		rows = append(rows, sink.Row{Table: idsTable, Values: []any{s.Client, s.ID, s.Digest}})
	}
	for i := 200; i < 210; i++ { // stored, but not their status yet
		rows = append(rows, sink.Row{Table: idsTable, Values: []any{"shop", ID("shop", fmt.Sprintf("R-%d", i)), fmt.Sprintf("d%d", i)}})
	}
	if err := sink.Insert(context.Background(), conn, db, rows); err != nil {
		t.Fatal(err)
	}
	reader, err := NewReader(conn, db)
	if err != nil {
		t.Fatal(err)
	}
	r := newRepeats(reader.digests, 10*time.Second, queryGap)
	errs := make(chan error, 400)
	for i := range 400 {
		go func() {
			client, n := "shop", i
			if i%4 == 3 {
				client = "other" // the id is shop's: nothing
			}
			digest, status, err := r.lookup(context.Background(), client, ID("shop", fmt.Sprintf("R-%d", n)))
			want, wantStatus := fmt.Sprintf("d%d", n), StatusAccepted
			switch {
			case n >= 210 || client == "other":
				want, wantStatus = "", ""
			case n >= 200:
				wantStatus = StatusReceived
			}
			if err == nil && (digest != want || status != wantStatus) {
				err = fmt.Errorf("lookup %d of %s: %q %q, want %q %q", n, client, digest, status, want, wantStatus)
			}
			errs <- err
		}()
	}
	for range 400 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// migrationsBefore is the pipeline's migrations older than file name
// first (NNNN_name.sql), as a database made before first shipped has them.
func migrationsBefore(t testing.TB, first string) fs.FS {
	t.Helper()
	all, err := migrationFS()
	if err != nil {
		t.Fatal(err)
	}
	names, err := fs.Glob(all, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	before := fstest.MapFS{}
	for _, name := range names {
		if name >= first {
			continue
		}
		b, err := fs.ReadFile(all, name)
		if err != nil {
			t.Fatal(err)
		}
		before[name] = &fstest.MapFile{Data: b}
	}
	return before
}

// TestBackfilled: receipts stored before a read-model table existed are
// in it once its migration is applied: on an admin's pages
// (receipts_by_received, 0004), found by id (receipts_by_id, 0005) and by
// a POST's repeat check (receipt_ids, 0006).
func TestBackfilled(t *testing.T) {
	codec := kafkatest.Codec(t, kafkatest.Setup{Records: []schemas.Record{new(ReceiptStatus)}})
	at := time.Now().Add(-time.Hour).UnixMilli()
	var statuses []ReceiptStatus
	for i := range 30 {
		statuses = append(statuses, ReceiptStatus{ID: ID("shop", fmt.Sprintf("R-%02d", i)), Client: "shop",
			ReceiptID: fmt.Sprintf("R-%02d", i), Type: "retail", Digest: fmt.Sprintf("d%02d", i),
			Status: string(StatusAccepted), TaxRegistration: fmt.Sprintf("T-%02d", i), ReceivedAt: at + int64(i), Version: 3})
	}
	// storeBefore stores statuses in a database made before migration
	// first, in the tables that were there then (not those of later), and
	// returns a reader of it with every migration applied.
	storeBefore := func(t *testing.T, first string, later ...*sink.Table) *Reader {
		ctx := context.Background()
		db := fmt.Sprintf("t_receipts_backfill_%d", time.Now().UnixNano())
		old := openWith(t, db, migrationsBefore(t, first))
		var rows []sink.Row
		for _, s := range statuses {
			for _, r := range statusRowsOf(t, codec, s) {
				if !slices.Contains(later, r.Table) {
					rows = append(rows, r)
				}
			}
		}
		if err := sink.Insert(ctx, old, db, rows); err != nil {
			t.Fatal(err)
		}
		all, err := migrationFS()
		if err != nil {
			t.Fatal(err)
		}
		reader, err := NewReader(openWith(t, db, all), db)
		if err != nil {
			t.Fatal(err)
		}
		return reader
	}
	t.Run("receipts_by_received", func(t *testing.T) {
		reader := storeBefore(t, "0004", byReceivedTable, byIDTable)
		page, err := reader.List(context.Background(), Filter{From: time.Now().Add(-2 * time.Hour), To: time.Now(), Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var got, want []string
		for _, v := range page.Receipts {
			got = append(got, v.ID)
		}
		for _, s := range statuses {
			want = append(want, s.ID)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("an admin's page after the backfill: %v, want %v", got, want)
		}
	})
	t.Run("receipt_ids", func(t *testing.T) {
		reader := storeBefore(t, "0006", idsTable)
		keys := make([]receiptKey, len(statuses))
		for i, s := range statuses {
			keys[i] = receiptKey{s.Client, s.ID}
		}
		found, err := reader.digests(context.Background(), keys)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range statuses {
			if a := found[receiptKey{s.Client, s.ID}]; a.digest != s.Digest || a.status != StatusAccepted {
				t.Fatalf("repeat check of %s after the backfill: %+v, want %s %s", s.ID, a, s.Digest, StatusAccepted)
			}
		}
	})
	t.Run("receipts_by_id", func(t *testing.T) {
		reader := storeBefore(t, "0005", byIDTable)
		for _, s := range statuses {
			v, err := reader.Receipt(context.Background(), s.Client, s.ID)
			if err != nil {
				t.Fatal(err)
			}
			if v.Status != StatusAccepted || v.Digest != s.Digest || v.TaxRegistration != s.TaxRegistration ||
				v.ReceivedAt.UnixMilli() != s.ReceivedAt {
				t.Fatalf("receipt %s after the backfill: %+v, want %+v", s.ID, v, s)
			}
		}
	})
}
