package sink

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/rationhq/ration/internal/chserver/chtest"
)

// migrationFS is a pipeline's migrations dir of the given files.
func migrationFS(files map[string]string) fstest.MapFS {
	fsys := make(fstest.MapFS, len(files))
	for name, text := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(text)}
	}
	return fsys
}

func TestReadMigrations(t *testing.T) {
	t.Run("files in version order, statements without comments", func(t *testing.T) {
		got, err := readMigrations(migrationFS(map[string]string{
			"0002_second.sql": "-- a comment\nCREATE TABLE {db}.b (x UInt8) ENGINE = Memory; -- trailing\nCREATE TABLE {db}.c (x UInt8) ENGINE = Memory;\n",
			"0001_first.sql":  "CREATE TABLE {db}.a (x UInt8)\n  ENGINE = Memory\n",
			"0010_empty.sql":  "-- nothing left to do\n",
		}))
		if err != nil {
			t.Fatal(err)
		}
		want := []migration{
			{1, "first", []string{"CREATE TABLE {db}.a (x UInt8)\n  ENGINE = Memory"}},
			{2, "second", []string{"CREATE TABLE {db}.b (x UInt8) ENGINE = Memory", "CREATE TABLE {db}.c (x UInt8) ENGINE = Memory"}},
			{10, "empty", nil},
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("got  %+v\nwant %+v", got, want)
		}
	})
	for name, files := range map[string]map[string]string{
		"a name without a version is refused": {"things.sql": "SELECT 1"},
		"an upper-case name is refused":       {"0001_Things.sql": "SELECT 1"},
		"a shared version is refused":         {"0001_a.sql": "SELECT 1", "0001_b.sql": "SELECT 1"},
	} {
		t.Run(name, func(t *testing.T) {
			if ms, err := readMigrations(migrationFS(files)); err == nil {
				t.Fatalf("accepted: %+v", ms)
			}
		})
	}
	t.Run("the shared migrations read", func(t *testing.T) {
		ms, err := sharedMigrations()
		if err != nil || len(ms) == 0 {
			t.Fatalf("%d shared migrations, %v", len(ms), err)
		}
	})
}

// tables lists the tables of db.
func tables(t testing.TB, conn driver.Conn, db string) []string {
	t.Helper()
	rows, err := conn.Query(context.Background(), "SELECT name FROM system.tables WHERE database = ? ORDER BY name", db)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		out = append(out, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// recorded lists the migrations recorded in db as NNNN_name, the shared
// ones for owner "", each once however often it was recorded.
func recorded(t testing.TB, conn driver.Conn, db, owner string) []string {
	t.Helper()
	q, _ := QuoteDB(db)
	query, args := "SELECT version, name FROM "+q+".schema_migrations FINAL ORDER BY version", []any(nil)
	if owner != "" {
		query, args = "SELECT version, name FROM "+q+".pipeline_migrations FINAL WHERE pipeline = ? ORDER BY version", []any{owner}
	}
	rows, err := conn.Query(context.Background(), query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var (
			v    uint32
			name string
		)
		if err := rows.Scan(&v, &name); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%04d_%s", v, name))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func connect(t testing.TB) driver.Conn {
	t.Helper()
	conn, err := dial(Target{ClickHouse: chtest.Shared(t).Addr()}, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func TestMigrate(t *testing.T) {
	ctx := context.Background()
	conn := connect(t)
	var shared []string
	ms, err := sharedMigrations()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		shared = append(shared, fmt.Sprintf("%04d_%s", m.version, m.name))
	}

	t.Run("without pipelines only the shared tables", func(t *testing.T) {
		db := newDB(t)
		if err := Migrate(ctx, conn, Target{Database: db}); err != nil {
			t.Fatal(err)
		}
		if got, want := tables(t, conn, db), []string{"audit", "events", "item_status", "schema_migrations"}; !reflect.DeepEqual(got, want) {
			t.Fatalf("tables %v, want %v", got, want)
		}
		if got := recorded(t, conn, db, ""); !reflect.DeepEqual(got, shared) {
			t.Fatalf("recorded %v, want %v", got, shared)
		}
	})

	db := newDB(t)
	t.Run("two processes at once", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range errs {
			c := connect(t) // a process has connections of its own
			wg.Go(func() { errs[i] = Migrate(ctx, c, Target{Database: db}, thingMigrations) })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	})
	t.Run("again", func(t *testing.T) {
		if err := Migrate(ctx, conn, Target{Database: db}, thingMigrations); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("recorded once each, under their owner", func(t *testing.T) {
		if got := recorded(t, conn, db, ""); !reflect.DeepEqual(got, shared) {
			t.Fatalf("shared: recorded %v, want %v", got, shared)
		}
		if got, want := recorded(t, conn, db, testPipeline), []string{"0001_things", "0002_thing_totals"}; !reflect.DeepEqual(got, want) {
			t.Fatalf("pipeline %s: recorded %v, want %v", testPipeline, got, want)
		}
	})
	t.Run("the pipeline's tables follow the shared ones, in order", func(t *testing.T) {
		// thing_totals, a view of things, could only be created after it.
		want := []string{"audit", "events", "item_status", "pipeline_migrations", "schema_migrations", "thing_totals", "things"}
		if got := tables(t, conn, db); !reflect.DeepEqual(got, want) {
			t.Fatalf("tables %v, want %v", got, want)
		}
	})
	t.Run("a bad database name is refused", func(t *testing.T) {
		if err := Migrate(ctx, conn, Target{Database: "x; DROP TABLE y"}); err == nil {
			t.Fatal("accepted")
		}
	})
}

// TestPipelineMigrations: a pipeline's migrations run once each, in order,
// recorded under the pipeline's name, whatever other pipelines recorded.
func TestPipelineMigrations(t *testing.T) {
	ctx := context.Background()
	conn := connect(t)
	table := func(name string) string {
		return "CREATE TABLE IF NOT EXISTS {db}." + name + " (x UInt8) ENGINE = Memory;\n"
	}

	t.Run("a recorded migration is not applied again; a new one is", func(t *testing.T) {
		db := newDB(t)
		v1 := Migrations{Owner: "p", FS: migrationFS(map[string]string{"0001_a.sql": table("a")})}
		if err := Migrate(ctx, conn, Target{Database: db}, v1); err != nil {
			t.Fatal(err)
		}
		// Were 0001 applied again, a would come back.
		if err := conn.Exec(ctx, "DROP TABLE `"+db+"`.a"); err != nil {
			t.Fatal(err)
		}
		v2 := Migrations{Owner: "p", FS: migrationFS(map[string]string{"0001_a.sql": table("a"), "0002_b.sql": table("b")})}
		if err := Migrate(ctx, conn, Target{Database: db}, v2); err != nil {
			t.Fatal(err)
		}
		if got := tables(t, conn, db); slices.Contains(got, "a") || !slices.Contains(got, "b") {
			t.Fatalf("tables %v: want b and no a", got)
		}
		if got, want := recorded(t, conn, db, "p"), []string{"0001_a", "0002_b"}; !reflect.DeepEqual(got, want) {
			t.Fatalf("recorded %v, want %v", got, want)
		}
	})
	t.Run("pipelines keep their own versions", func(t *testing.T) {
		db := newDB(t)
		p := Migrations{Owner: "p", FS: migrationFS(map[string]string{"0001_a.sql": table("a")})}
		q := Migrations{Owner: "q", FS: migrationFS(map[string]string{"0001_c.sql": table("c")})}
		if err := Migrate(ctx, conn, Target{Database: db}, p); err != nil {
			t.Fatal(err)
		}
		if err := Migrate(ctx, conn, Target{Database: db}, p, q); err != nil {
			t.Fatal(err)
		}
		if got := recorded(t, conn, db, "q"); !reflect.DeepEqual(got, []string{"0001_c"}) {
			t.Fatalf("q recorded %v", got)
		}
		if n := mustCount(t, conn, "SELECT count() FROM system.tables WHERE database = ? AND name IN ('a', 'c')", db); n != 2 {
			t.Fatalf("%d of tables a and c", n)
		}
	})
	t.Run("a failing migration stops its pipeline unrecorded, and runs once fixed", func(t *testing.T) {
		db := newDB(t)
		files := map[string]string{"0001_a.sql": table("a"), "0002_bad.sql": "CREATE TABLE {db}.bad (;\n", "0003_c.sql": table("c")}
		err := Migrate(ctx, conn, Target{Database: db}, Migrations{Owner: "p", FS: migrationFS(files)})
		if err == nil || !strings.Contains(err.Error(), "p: migration 0002_bad") {
			t.Fatalf("error %v, want one naming p's migration 0002_bad", err)
		}
		if got := recorded(t, conn, db, "p"); !reflect.DeepEqual(got, []string{"0001_a"}) {
			t.Fatalf("recorded %v, want only 0001_a", got)
		}
		files["0002_bad.sql"] = table("bad")
		if err := Migrate(ctx, conn, Target{Database: db}, Migrations{Owner: "p", FS: migrationFS(files)}); err != nil {
			t.Fatal(err)
		}
		if got, want := recorded(t, conn, db, "p"), []string{"0001_a", "0002_bad", "0003_c"}; !reflect.DeepEqual(got, want) {
			t.Fatalf("recorded %v, want %v", got, want)
		}
	})
	t.Run("a badly named file is refused, naming its pipeline", func(t *testing.T) {
		err := Migrate(ctx, conn, Target{Database: newDB(t)}, Migrations{Owner: "p", FS: migrationFS(map[string]string{"a.sql": table("a")})})
		if err == nil || !strings.Contains(err.Error(), "migrations of p") {
			t.Fatalf("error %v, want one naming p", err)
		}
	})
}
