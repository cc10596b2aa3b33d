package sink

import (
	"context"
	"sync"
	"testing"

	"github.com/rationhq/ration/internal/chserver/chtest"
)

func TestMigrate(t *testing.T) {
	srv := chtest.Shared(t)
	db := newDB(t)
	ctx := context.Background()
	conn, err := dial(srv.Addr(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	want, err := migrations()
	if err != nil {
		t.Fatal(err)
	}

	t.Run("two processes at once", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range errs {
			wg.Go(func() { errs[i] = Migrate(ctx, conn, db) })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	})
	t.Run("again", func(t *testing.T) {
		if err := Migrate(ctx, conn, db); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("recorded once each", func(t *testing.T) {
		q, _ := QuoteDB(db)
		rows, err := conn.Query(ctx, "SELECT version, name FROM "+q+".schema_migrations FINAL ORDER BY version")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var got []migration
		for rows.Next() {
			var m migration
			if err := rows.Scan(&m.version, &m.name); err != nil {
				t.Fatal(err)
			}
			got = append(got, m)
		}
		if len(got) != len(want) {
			t.Fatalf("recorded %+v, want %d migrations", got, len(want))
		}
		for i := range want {
			if got[i].version != want[i].version || got[i].name != want[i].name {
				t.Fatalf("recorded %d: %+v, want %d %s", i, got[i], want[i].version, want[i].name)
			}
		}
	})
	t.Run("tables exist", func(t *testing.T) {
		n, err := count(conn, "SELECT count() FROM system.tables WHERE database = ? AND name IN ('dm_user_log', 'events', 'audit', 'schema_migrations')", db)
		if err != nil || n != 4 {
			t.Fatalf("%d of 4 tables, err %v", n, err)
		}
	})
	t.Run("a bad database name is refused", func(t *testing.T) {
		if err := Migrate(ctx, conn, "x; DROP TABLE y"); err == nil {
			t.Fatal("accepted")
		}
	})
}
