package sink

import (
	"context"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Reader answers the read queries of the shared tables: item histories,
// the reprocessor's candidates and the audit log.
type Reader struct {
	conn driver.Conn
	qdb  string
}

// OpenReader connects to ClickHouse at addr (native protocol), creates
// database db if missing and applies the shared migrations and pipelines',
// so it can answer even before a sink ran.
func OpenReader(ctx context.Context, addr, db string, pipelines ...Migrations) (*Reader, error) {
	qdb, err := QuoteDB(db)
	if err != nil {
		return nil, err
	}
	conn, err := Open(ctx, addr, db, pipelines...)
	if err != nil {
		return nil, err
	}
	return &Reader{conn: conn, qdb: qdb}, nil
}

// Close closes the connections.
func (r *Reader) Close() error { return r.conn.Close() }

// Conn returns the connection pool, whose default database is the
// reader's, for running other SQL.
func (r *Reader) Conn() driver.Conn { return r.conn }
