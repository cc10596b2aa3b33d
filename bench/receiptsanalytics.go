package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"text/tabwriter"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/sync/errgroup"

	receiptsamples "github.com/rationhq/ration/docs/receipts"
	"github.com/rationhq/ration/pipeline"
	"github.com/rationhq/ration/pipelines/receipts"
	"github.com/rationhq/ration/processor"
	"github.com/rationhq/ration/sink"
)

// AnalyticsConfig configures `ration bench receipts-analytics`.
type AnalyticsConfig struct {
	// Lines is how many receipt lines the second measurement holds; the
	// first holds a tenth. Default 10 000 000.
	Lines int
	// Years the receipts are spread over, up to today. Default 20.
	Years int
	// Clients the receipts belong to. Default 10 000.
	Clients int
	// LinesPerClient, when set, makes the clients grow with the lines
	// instead: the receipts of each load go to clients of their own, one
	// per LinesPerClient lines, so that a client's 30 days hold as much at
	// N as at N/10 and the time of the question grows with history alone.
	// Clients is then left alone.
	LinesPerClient int
	// Samples of each question (the baseline takes a fifth, at least 3).
	// Default 50.
	Samples int
	// ClickHouse is the native address of a server to use; empty starts
	// one in a temporary directory.
	ClickHouse string
	Seed       uint64
}

func (c *AnalyticsConfig) setDefaults() {
	if c.Lines == 0 {
		c.Lines = 10_000_000
	}
	if c.Years == 0 {
		c.Years = 20
	}
	if c.Clients == 0 {
		c.Clients = 10_000
	}
	if c.Samples == 0 {
		c.Samples = 50
	}
}

// AnalyticsResult is one way of answering the questions, over one number
// of lines.
type AnalyticsResult struct {
	Way     string // "ration" (ordered lines, rollups), "merged" (the same, every part merged) or "raw" (one plain table of lines)
	Lines   int
	Parts   uint64    // receipt_lines' active parts when asked ("ration" and "merged")
	Recent  Quantiles // a client's last 30 days
	Page    Quantiles // a client's first 10 000 lines of a year
	NewYear Quantiles // the New Year holidays of every year
	// RollupRows are the rollup's rows once merged (the "merged" way
	// only): it can hold at most RollupMax, whatever the load.
	RollupRows uint64
}

// AnalyticsReport is a run of `ration bench receipts-analytics`.
type AnalyticsReport struct {
	Lines   int
	Load    time.Duration
	Results []AnalyticsResult
	// RollupMax is the most rows the rollup by day can hold: days × types ×
	// categories × buckets. Its merged size approaches it as the load
	// grows, and the New Year question's time follows its size.
	RollupMax uint64
}

func (r AnalyticsReport) result(way string, lines int) AnalyticsResult {
	for _, res := range r.Results {
		if res.Way == way && res.Lines == lines {
			return res
		}
	}
	return AnalyticsResult{}
}

// Print writes a table of every way's questions and, last, the figures
// docs/benchmarks.md keeps.
func (r AnalyticsReport) Print(w io.Writer) {
	fmt.Fprintf(w, "lines=%d load=%s; times in ms\n", r.Lines, r.Load.Round(time.Second))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "way\tlines\tparts\t30 days p50\t30 days p99\tpage p50\tpage p99\tnew year p50\tnew year p99\t")
	for _, res := range r.Results {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t\n", res.Way, res.Lines, res.Parts, ms(res.Recent.P50), ms(res.Recent.P99),
			ms(res.Page.P50), ms(res.Page.P99), ms(res.NewYear.P50), ms(res.NewYear.P99))
	}
	tw.Flush()
	for _, res := range r.Results {
		if res.Way == "merged" {
			fmt.Fprintf(w, "rollup by day at %d lines: %d rows merged, %.0f%% of the %d it can hold\n",
				res.Lines, res.RollupRows, 100*float64(res.RollupRows)/float64(r.RollupMax), r.RollupMax)
		}
	}
	small, big := r.result("ration", r.Lines/10), r.result("ration", r.Lines)
	smallM, bigM := r.result("merged", r.Lines/10), r.result("merged", r.Lines)
	fmt.Fprintf(w, "recent_p99_ms=%s new_year_ms=%s recent_growth=%.2f new_year_growth=%.2f new_year_merged_ms=%s new_year_merged_growth=%.2f\n",
		ms(big.Recent.P99), ms(big.NewYear.P50), ratio(big.Recent.P99, small.Recent.P99), ratio(big.NewYear.P50, small.NewYear.P50),
		ms(bigM.NewYear.P50), ratio(bigM.NewYear.P50, smallM.NewYear.P50))
}

// optimizeFinal merges each partition of db.table into one part, a
// partition at a time: the lines of 100 000 000 receipts merged in one
// OPTIMIZE outlast a connection's read timeout, and a partition is what
// background merges fold too.
func optimizeFinal(ctx context.Context, conn driver.Conn, db, table string) error {
	var partitions []string
	if err := conn.QueryRow(ctx, "SELECT groupUniqArray(partition) FROM system.parts WHERE active AND database = ? AND table = ?",
		db, table).Scan(&partitions); err != nil {
		return fmt.Errorf("partitions of %s: %w", table, err)
	}
	for _, p := range partitions {
		stmt := "OPTIMIZE TABLE " + db + "." + table
		if p != "tuple()" { // not partitioned
			stmt += " PARTITION " + p
		}
		if err := conn.Exec(ctx, stmt+" FINAL"); err != nil {
			return fmt.Errorf("optimize %s, partition %s: %w", table, p, err)
		}
	}
	return nil
}

// RunReceiptsAnalytics loads synthetic accepted receipts with cfg.Lines
// lines spread over cfg.Years into ClickHouse as the pipeline stores them
// (the lines by the sink's mapping, the rollups by the totals view's own
// handler), and times the analysts' questions at a tenth of the lines and
// at all of them: on ration's tables (docs/analytics.md) and, as the
// baseline, on one plain table of the same lines in arrival order.
func RunReceiptsAnalytics(ctx context.Context, cfg AnalyticsConfig, progress io.Writer) (AnalyticsReport, error) {
	cfg.setDefaults()
	rep := AnalyticsReport{Lines: cfg.Lines,
		RollupMax: uint64(cfg.Years*365+cfg.Years/4+1) * uint64(len(analyticsTypes)*len(analyticsCategories)) * analyticsBuckets}
	d := receipts.New()
	bd, err := openBenchDB(ctx, cfg.ClickHouse, d, "bench_receipts_analytics", progress)
	if err != nil {
		return rep, err
	}
	defer bd.close()
	if err := bd.conn.Exec(ctx, `CREATE TABLE `+bd.db+`.raw_lines ENGINE = MergeTree ORDER BY tuple() AS
SELECT * FROM `+bd.db+`.receipt_lines WHERE 0`); err != nil {
		return rep, fmt.Errorf("raw lines table: %w", err)
	}
	l, err := newAnalyticsLoader(d, bd, cfg)
	if err != nil {
		return rep, err
	}
	r := rand.New(rand.NewPCG(cfg.Seed, 3))
	for _, lines := range []int{cfg.Lines / 10, cfg.Lines} {
		fmt.Fprintf(progress, "loading lines up to %d...\n", lines)
		start := time.Now()
		if err := l.load(ctx, lines); err != nil {
			return rep, err
		}
		rep.Load += time.Since(start)
		if err := awaitMerges(ctx, bd.conn, bd.db); err != nil {
			return rep, err
		}
		for _, way := range []struct {
			name    string
			samples int
		}{{"ration", cfg.Samples}, {"raw", max(3, cfg.Samples/5)}, {"merged", cfg.Samples}} {
			if way.name == "merged" {
				// The steady state: a load of 20 years in minutes writes
				// the rollup's versions far faster than background merges
				// fold them, and leaves the lines of each month in more
				// parts than merges would; in production a past day's
				// versions are long folded, and its month's parts merged,
				// when anyone asks about it.
				fmt.Fprintln(progress, "merging the rollup's versions and the lines' parts...")
				for _, table := range []string{"receipt_daily_totals", "receipt_lines"} {
					if err := optimizeFinal(ctx, bd.conn, bd.db, table); err != nil {
						return rep, err
					}
				}
			}
			fmt.Fprintf(progress, "asking %d lines the %s way...\n", lines, way.name)
			res, err := l.ask(ctx, r, way.name, way.samples)
			if err != nil {
				return rep, fmt.Errorf("%s: %w", way.name, err)
			}
			res.Way, res.Lines = way.name, lines
			if way.name != "raw" {
				if err := bd.conn.QueryRow(ctx, "SELECT count() FROM system.parts WHERE active AND database = ? AND table = 'receipt_lines'",
					bd.db).Scan(&res.Parts); err != nil {
					return rep, fmt.Errorf("parts: %w", err)
				}
			}
			if way.name == "merged" {
				if err := bd.conn.QueryRow(ctx, "SELECT count() FROM "+bd.db+".receipt_daily_totals").Scan(&res.RollupRows); err != nil {
					return rep, fmt.Errorf("rollup rows: %w", err)
				}
			}
			rep.Results = append(rep.Results, res)
		}
	}
	return rep, nil
}

// analyticsLoader generates accepted receipts, folds them with the totals
// view and stores their lines and the totals.
type analyticsLoader struct {
	bd      *benchDB
	cfg     AnalyticsConfig
	view    processor.Handler
	ender   processor.BatchEnder
	store   processor.Store
	lines   sink.Mapping
	totals  sink.Mapping
	raw     *sink.Table // the baseline's table
	now     time.Time
	r       *rand.Rand
	next    int // the next receipt
	written int // lines so far
}

func newAnalyticsLoader(d pipeline.Descriptor, bd *benchDB, cfg AnalyticsConfig) (*analyticsLoader, error) {
	stage, ok := d.Stage(receipts.ViewTotals)
	if !ok {
		return nil, fmt.Errorf("pipeline %s has no view %s", d.Name, receipts.ViewTotals)
	}
	view, err := stage.Handler(pipeline.Env{Codec: bd.codec})
	if err != nil {
		return nil, err
	}
	l := &analyticsLoader{bd: bd, cfg: cfg, view: view, store: processor.NewMemoryStore(), now: time.Now().UTC(),
		r: rand.New(rand.NewPCG(cfg.Seed, 4))}
	l.ender, _ = view.(processor.BatchEnder)
	for _, m := range d.Sink {
		switch m.Topic {
		case receipts.TopicRegistered:
			l.lines = m
		case receipts.TopicTotals:
			l.totals = m
		}
	}
	return l, nil
}

// analyticsBuckets are the buckets the totals view's state is spread over.
const analyticsBuckets = 12

// analyticsTypes are the load's receipt types.
var analyticsTypes = []string{"retail", "fuel", "pharmacy", "restaurant"}

var analyticsCategories = []string{"dairy", "bakery", "produce", "meat", "drinks", "frozen", "household", "toys",
	"clothing", "fuel", "shop", "food", "pharmacy", "first-aid", "books", "garden", "pets", "electronics", "snacks", "tobacco"}

// load adds receipts until the lines reach n, a chunk at a time: one
// chunk goes into ClickHouse while the next is made. The receipts go
// through the years in time order, as a pipeline's arrive, so a chunk
// falls in one or two monthly partitions rather than in all of them.
func (l *analyticsLoader) load(ctx context.Context, n int) error {
	from := l.written
	g, ctx := errgroup.WithContext(ctx)
	chunks := make(chan []sink.Row)
	g.Go(func() error {
		for rows := range chunks {
			if err := sink.Insert(ctx, l.bd.conn, l.bd.db, rows); err != nil {
				return err
			}
		}
		return nil
	})
	g.Go(func() error {
		defer close(chunks)
		for l.written < n {
			rows, err := l.chunk(ctx, from, n)
			if err != nil {
				return err
			}
			select {
			case chunks <- rows:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
	return g.Wait()
}

// chunk makes the rows of the next receipts, up to 200 000 lines or n in
// all: each receipt with one to eight lines, of a random client, issued
// at the point of the years the load from line from to n has reached,
// give or take a day; the totals they changed; and the baseline's copy of
// the lines.
func (l *analyticsLoader) chunk(ctx context.Context, from, n int) ([]sink.Row, error) {
	const size = 200_000 // lines
	span := time.Duration(l.cfg.Years) * 365 * 24 * time.Hour
	var rows []sink.Row
	for lines := 0; lines < size && l.written < n; l.next++ {
		lo, hi := l.clients(from, n)
		client := clientName(lo + l.r.IntN(hi-lo))
		reached := time.Duration(float64(span) * float64(l.written-from) / float64(n-from))
		issued := l.now.Add(-span + reached + time.Duration(l.r.Int64N(int64(48*time.Hour))) - 24*time.Hour)
		if issued.After(l.now) {
			issued = l.now
		}
		k := 1 + l.r.IntN(8)
		items := make([]receipts.Line, k)
		for i := range items {
			amount := float64(1+l.r.IntN(20000)) / 100
			items[i] = receipts.Line{Product: fmt.Sprintf("product-%04d", l.r.IntN(5000)),
				Category: analyticsCategories[l.r.IntN(len(analyticsCategories))], Quantity: 1, Price: amount, Amount: amount}
		}
		value, err := json.Marshal(map[string]any{"issued_at": issued.Format(time.RFC3339), "currency": "EUR", "lines": items})
		if err != nil {
			return nil, err
		}
		receiptID := fmt.Sprintf("R-%09d", l.next)
		id := receipts.ID(client, receiptID)
		b, err := l.bd.codec.Encode(&receipts.Receipt{ID: id, Client: client, ReceiptID: receiptID,
			Type: analyticsTypes[l.r.IntN(len(analyticsTypes))], Value: string(value), ReceivedAt: issued,
			LogisticsRegisteredAt: issued})
		if err != nil {
			return nil, err
		}
		h := fnv.New32a()
		_, _ = h.Write([]byte(id))
		rec := &kgo.Record{Topic: receipts.TopicRegistered, Partition: int32(h.Sum32() % analyticsBuckets), Key: []byte(id), Value: b}
		if _, err := l.view.Process(ctx, rec, processor.StoreState(l.store, rec.Partition)); err != nil {
			return nil, err
		}
		rs, err := l.lines.Rows(l.bd.codec, rec)
		if err != nil {
			return nil, err
		}
		rows = append(rows, rs...)
		lines += k
		l.written += k
	}
	for b := range int32(analyticsBuckets) {
		out, err := l.ender.EndBatch(ctx, b, processor.StoreState(l.store, b))
		if err != nil {
			return nil, err
		}
		for _, o := range out {
			rs, err := l.totals.Rows(l.bd.codec, o)
			if err != nil {
				return nil, err
			}
			rows = append(rows, rs...)
		}
	}
	// The baseline: the same lines in one plain table, in arrival order.
	var raw []sink.Row
	for _, row := range rows {
		if row.Table.Name == "receipt_lines" {
			if l.raw == nil {
				l.raw = &sink.Table{Name: "raw_lines", Columns: row.Table.Columns}
			}
			raw = append(raw, sink.Row{Table: l.raw, Values: row.Values})
		}
	}
	return append(rows, raw...), nil
}

// clients returns the clients, [lo, hi), of the receipts loaded from
// line from to line n.
func (l *analyticsLoader) clients(from, n int) (lo, hi int) {
	if l.cfg.LinesPerClient == 0 {
		return 0, l.cfg.Clients
	}
	return from / l.cfg.LinesPerClient, max(from/l.cfg.LinesPerClient+1, n/l.cfg.LinesPerClient)
}

func clientName(i int) string { return fmt.Sprintf("client-%06d", i) }

// ask times the questions the way named.
func (l *analyticsLoader) ask(ctx context.Context, r *rand.Rand, way string, samples int) (AnalyticsResult, error) {
	var res AnalyticsResult
	table := "receipt_lines FINAL"
	if way == "raw" {
		table = "raw_lines"
	}
	timeQuery := func(q func() string) (Quantiles, error) {
		ds := make([]time.Duration, 0, samples)
		for range samples {
			query := q()
			start := time.Now()
			rows, err := l.bd.conn.Query(ctx, query)
			if err != nil {
				return Quantiles{}, fmt.Errorf("%s: %w", query, err)
			}
			for rows.Next() {
			}
			err = rows.Err()
			rows.Close()
			if err != nil {
				return Quantiles{}, err
			}
			ds = append(ds, time.Since(start))
		}
		return quantiles(ds), nil
	}
	_, all := l.clients(0, l.written)
	client := func() string { return clientName(r.IntN(all)) }
	var err error
	if res.Recent, err = timeQuery(func() string {
		if way != "raw" {
			q, _ := receiptsamples.Query("client_last_30_days", l.bd.db, client())
			return q
		}
		return fmt.Sprintf(`SELECT id, type, min(date) AS day, count() AS lines, sum(amount) AS total, any(currency) AS currency
FROM %s.raw_lines WHERE client = '%s' AND date >= today() - 30 GROUP BY id, type ORDER BY day DESC, id`, l.bd.db, client())
	}); err != nil {
		return res, err
	}
	if res.Page, err = timeQuery(func() string {
		year := l.now.Year() - r.IntN(l.cfg.Years)
		return fmt.Sprintf(`SELECT id, line, date, product, category, amount FROM %s.%s
WHERE client = '%s' AND date >= toDate('%d-01-01') AND date < toDate('%d-01-01') ORDER BY date, id, line LIMIT 10000`,
			l.bd.db, table, client(), year, year+1)
	}); err != nil {
		return res, err
	}
	if res.NewYear, err = timeQuery(func() string {
		if way != "raw" {
			q, _ := receiptsamples.Query("new_year", l.bd.db, "")
			return q
		}
		return fmt.Sprintf(`SELECT toUInt16(if(toMonth(date) = 12, toYear(date) + 1, toYear(date))) AS new_year, category,
    count() AS lines, sum(quantity) AS quantity, sum(amount) AS amount
FROM %s.raw_lines
WHERE (toMonth(date) = 12 AND toDayOfMonth(date) >= 24) OR (toMonth(date) = 1 AND toDayOfMonth(date) <= 7)
GROUP BY new_year, category ORDER BY new_year, category`, l.bd.db)
	}); err != nil {
		return res, err
	}
	return res, nil
}
