package sink

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Open connects to the ClickHouse server at addr over the native protocol
// (clickhouse-go's HTTP protocol fails on 18.16), creates database db if
// missing, applies the shared migrations and pipelines' and returns a
// connection pool whose default database is db. The pool reconnects by
// itself after a server restart.
func Open(ctx context.Context, addr, db string, pipelines ...Migrations) (driver.Conn, error) {
	// A connection naming a database that does not exist is refused at
	// the handshake, so the first one names none.
	boot, err := dial(addr, "")
	if err != nil {
		return nil, err
	}
	err = Migrate(ctx, boot, db, pipelines...)
	boot.Close()
	if err != nil {
		return nil, fmt.Errorf("clickhouse %s: %w", addr, err)
	}
	conn, err := dial(addr, db)
	if err != nil {
		return nil, err
	}
	if err := conn.Ping(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("clickhouse %s: %w", addr, err)
	}
	return conn, nil
}

func dial(addr, db string) (driver.Conn, error) {
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr:        []string{addr},
		Protocol:    clickhouse.Native,
		Auth:        clickhouse.Auth{Database: db},
		DialTimeout: 5 * time.Second,
		// A server that stopped answering (not one that is gone: that
		// fails at once) would otherwise hold an insert for 5 minutes.
		ReadTimeout: time.Minute,
	})
	if err != nil {
		return nil, fmt.Errorf("clickhouse %s: %w", addr, err)
	}
	return conn, nil
}
