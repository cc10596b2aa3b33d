package chserver_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/rationhq/ration/internal/chserver"
	"github.com/rationhq/ration/internal/chserver/chtest"
)

func connect(t *testing.T, addr string) driver.Conn {
	t.Helper()
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{addr}, Protocol: clickhouse.Native,
		DialTimeout: time.Second, ReadTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func count(t *testing.T, addr string) uint64 {
	t.Helper()
	var n uint64
	if err := connect(t, addr).QueryRow(context.Background(), "SELECT count() FROM default.kept").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRestartKeepsDataAndPort(t *testing.T) {
	srv := chtest.Start(t)
	ctx := context.Background()
	addr := srv.Addr()
	conn := connect(t, addr)
	if err := conn.Exec(ctx, "CREATE TABLE default.kept (n UInt32) ENGINE = MergeTree ORDER BY n"); err != nil {
		t.Fatal(err)
	}
	// 18.16 waits for data blocks after an INSERT: inline VALUES hang, so
	// insert as a batch.
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO default.kept (n)")
	if err != nil {
		t.Fatal(err)
	}
	for n := range uint32(3) {
		if err := batch.Append(n); err != nil {
			t.Fatal(err)
		}
	}
	if err := batch.Send(); err != nil {
		t.Fatal(err)
	}

	t.Run("graceful restart", func(t *testing.T) {
		if err := srv.Restart(ctx); err != nil {
			t.Fatal(err)
		}
		if srv.Addr() != addr {
			t.Fatalf("address moved from %s to %s", addr, srv.Addr())
		}
		if n := count(t, addr); n != 3 {
			t.Fatalf("count after restart = %d, want 3", n)
		}
	})
	t.Run("crash and restart", func(t *testing.T) {
		if err := srv.Kill(); err != nil {
			t.Fatal(err)
		}
		if err := connect(t, addr).Ping(ctx); err == nil {
			t.Fatal("killed server still answers")
		}
		if err := srv.Restart(ctx); err != nil {
			t.Fatal(err)
		}
		if srv.Addr() != addr {
			t.Fatalf("address moved from %s to %s", addr, srv.Addr())
		}
		if n := count(t, addr); n != 3 {
			t.Fatalf("count after crash = %d, want 3", n)
		}
	})
	t.Run("stop is idempotent", func(t *testing.T) {
		if err := srv.Stop(); err != nil {
			t.Fatal(err)
		}
		if err := srv.Stop(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestTwoServersSideBySide(t *testing.T) {
	a, b := chtest.Start(t), chtest.Start(t)
	if a.Addr() == b.Addr() {
		t.Fatalf("both servers on %s", a.Addr())
	}
	for _, srv := range []*chserver.Server{a, b} {
		if err := connect(t, srv.Addr()).Ping(context.Background()); err != nil {
			t.Fatalf("%s: %v", srv.Addr(), err)
		}
	}
}

func TestStartFailureShowsLog(t *testing.T) {
	_, err := chserver.Start(context.Background(), chserver.Config{Dir: t.TempDir(), Binary: "/bin/false"})
	if err == nil || !strings.Contains(err.Error(), "exited during start-up") {
		t.Fatalf("err = %v, want an exit during start-up", err)
	}
}

func TestConfigNeedsDir(t *testing.T) {
	if _, err := chserver.Start(context.Background(), chserver.Config{}); err == nil {
		t.Fatal("started without a data dir")
	}
}

// TestAnalystReadsAndChangesNothing: the analyst user reads a table and
// may neither write to it nor create one.
func TestAnalystReadsAndChangesNothing(t *testing.T) {
	srv := chtest.Start(t)
	ctx := context.Background()
	if err := connect(t, srv.Addr()).Exec(ctx, "CREATE TABLE default.facts (n UInt8) ENGINE = Memory"); err != nil {
		t.Fatal(err)
	}
	analyst, err := clickhouse.Open(&clickhouse.Options{Addr: []string{srv.Addr()}, Protocol: clickhouse.Native,
		Auth: clickhouse.Auth{Username: chserver.AnalystUser}, DialTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { analyst.Close() })
	var n uint64
	if err := analyst.QueryRow(ctx, "SELECT count() FROM default.facts").Scan(&n); err != nil {
		t.Fatalf("the analyst cannot read: %v", err)
	}
	for _, q := range []string{"INSERT INTO default.facts VALUES (1)", "CREATE TABLE default.mine (n UInt8) ENGINE = Memory", "DROP TABLE default.facts"} {
		if err := analyst.Exec(ctx, q); err == nil || !strings.Contains(strings.ToLower(err.Error()), "readonly") {
			t.Errorf("%s: %v, want refused (readonly)", q, err)
		}
	}
}
