package sink

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// flush stores the buffered rows and then commits the offsets of the
// records they came from, so a commit never covers a row ClickHouse lacks.
// While ClickHouse fails it retries with backoff, polling nothing
// meanwhile, until ctx ends; once is true for the last flush at shutdown,
// which tries once. Rows that were not stored are dropped with their
// offsets uncommitted: they are read again.
func (s *Sink) flush(ctx context.Context, cl *kgo.Client, conn driver.Conn, once bool) {
	s.mu.Lock()
	bt := s.buf.take()
	s.mu.Unlock()
	if len(bt.offsets) == 0 {
		return
	}
	start := time.Now()
	stored := make(map[*Table]bool, len(s.tables))
	b := backoff{max: s.cfg.MaxBackoff}
	for {
		err := s.insertAll(ctx, conn, bt, stored)
		if err == nil {
			break
		}
		if once || ctx.Err() != nil {
			s.log.Warn("rows not stored; they will be read again", "rows", bt.count, "err", err)
			return
		}
		s.log.Error("insert failed, retrying", "rows", bt.count, "err", err, "in", b.next())
		if b.wait(ctx) != nil {
			s.log.Warn("rows not stored; they will be read again", "rows", bt.count)
			return
		}
	}
	s.commit(ctx, cl, bt.offsets)
	s.m.flushes.Inc()
	s.m.batchRows.Observe(float64(bt.count))
	s.m.flushSeconds.Observe(time.Since(start).Seconds())
	s.log.Debug("flushed", "rows", bt.count, "took", time.Since(start))
}

// insertAll inserts the tables not yet stored, one batch per table. A
// clickhouse-go batch whose Send failed cannot be sent again, so every
// attempt builds its batch anew from the kept rows.
func (s *Sink) insertAll(ctx context.Context, conn driver.Conn, bt batch, stored map[*Table]bool) error {
	for _, t := range s.tables {
		rows := bt.rows[t]
		if len(rows) == 0 || stored[t] {
			continue
		}
		if err := insertRows(ctx, conn, s.qdb, t, rows); err != nil {
			s.m.insertErrors.WithLabelValues(t.Name).Inc()
			return fmt.Errorf("insert %d rows into %s: %w", len(rows), t.Name, err)
		}
		stored[t] = true
		s.m.rowsInserted.WithLabelValues(t.Name).Add(float64(len(rows)))
	}
	return nil
}

// insertRows inserts rows into t of database qdb as one batch.
func insertRows(ctx context.Context, conn driver.Conn, qdb string, t *Table, rows [][]any) error {
	b, err := conn.PrepareBatch(ctx, t.insertSQL(qdb))
	if err != nil {
		return err
	}
	for _, values := range rows {
		if err := b.Append(values...); err != nil {
			_ = b.Abort()
			return err
		}
	}
	return b.Send()
}

// commit commits offsets whose rows are stored. A failed commit is not
// retried: the rows are stored, the next flush commits later offsets, and
// a new owner that reads them again writes duplicates that collapse.
func (s *Sink) commit(ctx context.Context, cl *kgo.Client, offsets map[string]map[int32]kgo.EpochOffset) {
	var cerr error
	cl.CommitOffsetsSync(ctx, offsets, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			cerr = err
			return
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if err := kerr.ErrorForCode(p.ErrorCode); err != nil && cerr == nil {
					cerr = fmt.Errorf("%s/%d: %w", t.Topic, p.Partition, err)
				}
			}
		}
	})
	if cerr != nil {
		s.m.commitErrors.Inc()
		s.log.Warn("commit failed; stored rows may be read again", "err", cerr)
	}
}

// Insert stores rows in database db as the sink does, one batch per table:
// for loading tables directly (benchmarks, tests of a pipeline's reads).
func Insert(ctx context.Context, conn driver.Conn, db string, rows []Row) error {
	qdb, err := QuoteDB(db)
	if err != nil {
		return err
	}
	var order []*Table
	byTable := make(map[*Table][][]any)
	for _, r := range rows {
		order = withTable(order, r.Table)
		byTable[r.Table] = append(byTable[r.Table], r.Values)
	}
	for _, t := range order {
		if err := insertRows(ctx, conn, qdb, t, byTable[t]); err != nil {
			return fmt.Errorf("insert %d rows into %s: %w", len(byTable[t]), t.Name, err)
		}
	}
	return nil
}
