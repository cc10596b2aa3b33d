package sink

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Open connects to the ClickHouse of t over the native protocol
// (clickhouse-go's HTTP protocol fails on 18.16), creates its database if
// missing, applies the shared migrations and pipelines' and returns a
// connection pool whose default database is t's. The pool reconnects by
// itself after a server restart, and to another of t's servers when one
// is down.
func Open(ctx context.Context, t Target, pipelines ...Migrations) (driver.Conn, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	// A connection naming a database that does not exist is refused at
	// the handshake, so the first one names none.
	boot, err := dial(t, "")
	if err != nil {
		return nil, err
	}
	err = Migrate(ctx, boot, t, pipelines...)
	boot.Close()
	if err != nil {
		return nil, fmt.Errorf("clickhouse %s: %w", t.ClickHouse, err)
	}
	conn, err := dial(t, t.Database)
	if err != nil {
		return nil, err
	}
	if err := conn.Ping(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("clickhouse %s: %w", t.ClickHouse, err)
	}
	return conn, nil
}

func dial(t Target, db string) (driver.Conn, error) {
	opts := &clickhouse.Options{
		Addr:     t.addrs(),
		Protocol: clickhouse.Native,
		Auth:     clickhouse.Auth{Database: db, Username: t.User, Password: t.Password},
		// In order: the first server while it answers, the next when not.
		ConnOpenStrategy: clickhouse.ConnOpenInOrder,
		DialTimeout:      5 * time.Second,
		// A server that stopped answering (not one that is gone: that
		// fails at once) would otherwise hold an insert for 5 minutes.
		ReadTimeout: time.Minute,
	}
	if t.Cluster != "" {
		// An insert into a Distributed table returns once every shard has
		// its rows, not once they are queued on the server that took
		// them: the sink commits its offsets only after that. (The
		// servers' profile should also say load_balancing = in_order; see
		// docs/DESIGN.md, "ClickHouse cluster".)
		opts.Settings = clickhouse.Settings{"insert_distributed_sync": 1}
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("clickhouse %s: %w", t.ClickHouse, err)
	}
	return conn, nil
}
