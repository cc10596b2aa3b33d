package sink

import (
	"context"
	"log/slog"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Reader answers the read queries of the shared tables: item histories,
// the reprocessor's candidates and the audit log.
type Reader struct {
	conn driver.Conn
	qdb  string
}

// OpenReader connects to the ClickHouse of t (native protocol), creates
// its database if missing and applies the shared migrations and
// pipelines', so it can answer even before a sink ran.
func OpenReader(ctx context.Context, t Target, pipelines ...Migrations) (*Reader, error) {
	qdb, err := QuoteDB(t.Database)
	if err != nil {
		return nil, err
	}
	conn, err := Open(ctx, t, pipelines...)
	if err != nil {
		return nil, err
	}
	return &Reader{conn: conn, qdb: qdb}, nil
}

// WaitReader is OpenReader retried until it works or ctx ends, each
// failure logged to log: the API and the reprocessor may start before
// ClickHouse, or while it restarts.
func WaitReader(ctx context.Context, t Target, log *slog.Logger, pipelines ...Migrations) (*Reader, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return untilOpen(ctx, log, t, 5*time.Second, func() (*Reader, error) { return OpenReader(ctx, t, pipelines...) })
}

// Close closes the connections.
func (r *Reader) Close() error { return r.conn.Close() }

// Conn returns the connection pool, whose default database is the
// reader's, for running other SQL.
func (r *Reader) Conn() driver.Conn { return r.conn }
