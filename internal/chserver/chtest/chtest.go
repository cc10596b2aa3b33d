// Package chtest starts real ClickHouse servers for the tests of any
// package: one per test with Start, or one per test binary with Main and
// Shared (a server takes a second or so to start, a test database far
// less). Without a server binary, tests skip on a laptop and fail in CI
// (CI=true), so a broken CI image never passes silently.
package chtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/rationhq/ration/internal/chserver"
)

const missing = "clickhouse-server not found: run `make test` (which installs what the tests need) or apt-get install clickhouse-server"

// Require fails t when no server binary exists and CI=true, and skips it
// when it does not exist elsewhere.
func Require(t testing.TB) {
	t.Helper()
	if _, err := chserver.FindBinary(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(missing)
		}
		t.Skip(missing)
	}
}

// Start starts a server of its own for t in a temporary dir and stops it
// when t ends.
func Start(t testing.TB) *chserver.Server {
	t.Helper()
	Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := chserver.Start(ctx, chserver.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Error(err)
		}
	})
	return srv
}

var shared struct {
	mu     sync.Mutex
	inMain bool
	dir    string
	srv    *chserver.Server
	err    error
}

// Main runs the tests of a package and then stops the server Shared
// started, if any. Use it as the whole of TestMain:
//
//	func TestMain(m *testing.M) { chtest.Main(m) }
func Main(m *testing.M) {
	shared.mu.Lock()
	shared.inMain = true
	shared.mu.Unlock()
	code := m.Run()
	shared.mu.Lock()
	if shared.srv != nil {
		if err := shared.srv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "chtest:", err)
		}
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	shared.mu.Unlock()
	os.Exit(code)
}

// Shared returns the server shared by the tests of the binary, starting it
// on first use. Tests sharing it should each use a database of their own.
// It needs TestMain to call Main, which stops it.
func Shared(t testing.TB) *chserver.Server {
	t.Helper()
	Require(t)
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.inMain {
		t.Fatal("chtest.Shared needs func TestMain(m *testing.M) { chtest.Main(m) } to stop the server")
	}
	if shared.srv == nil && shared.err == nil {
		shared.srv, shared.err = startShared()
	}
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.srv
}

func startShared() (*chserver.Server, error) {
	dir, err := os.MkdirTemp("", "chtest-")
	if err != nil {
		return nil, err
	}
	shared.dir = dir
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := chserver.Start(ctx, chserver.Config{Dir: dir})
	if err != nil {
		return nil, errors.Join(errors.New("chtest: shared server"), err)
	}
	return srv, nil
}

const missingZooKeeper = "zookeeper not found: run `make test` (which installs what the tests need) or apt-get install zookeeper"

// StartCluster starts a cluster of its own for t — ZooKeeper and 2 shards
// of 2 replicas — in a temporary dir and stops it when t ends. Without
// ZooKeeper it fails in CI and skips elsewhere, as Require does.
func StartCluster(t testing.TB) *chserver.Cluster {
	t.Helper()
	Require(t)
	if err := chserver.FindZooKeeper(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(missingZooKeeper)
		}
		t.Skip(missingZooKeeper)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := chserver.StartCluster(ctx, chserver.ClusterConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c
}

// AwaitMerges returns once the server runs no merge in db, so a benchmark
// reads the parts its tables settle into.
func AwaitMerges(tb testing.TB, conn driver.Conn, db string) {
	tb.Helper()
	for {
		var merging uint64
		if err := conn.QueryRow(context.Background(), "SELECT count() FROM system.merges WHERE database = ?", db).Scan(&merging); err != nil {
			tb.Fatal(err)
		}
		if merging == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ActiveParts is how many active parts table of db has.
func ActiveParts(tb testing.TB, conn driver.Conn, db, table string) uint64 {
	tb.Helper()
	var n uint64
	if err := conn.QueryRow(context.Background(), "SELECT count() FROM system.parts WHERE database = ? AND table = ? AND active",
		db, table).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}
