package bench

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"os"
	"text/tabwriter"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/internal/chserver"
	"github.com/rationhq/ration/internal/kafkaconn"
	"github.com/rationhq/ration/pipeline"
	"github.com/rationhq/ration/pipelines/dm"
	"github.com/rationhq/ration/processor"
	"github.com/rationhq/ration/schemas"
	"github.com/rationhq/ration/sink"
)

// DMReadConfig configures `ration bench dm-read`.
type DMReadConfig struct {
	// Users is how many users the second measurement holds; the first
	// holds a tenth of them. Default 1 000 000.
	Users int
	// Samples is how many times each read runs on the state view; the
	// whole-log baseline runs a tenth as often (at least 3). Default 100.
	Samples int
	// ClickHouse is the native address of a server to use; empty starts
	// one in a temporary directory.
	ClickHouse string
	// Seed makes the histories and the sampled users repeatable.
	Seed uint64
}

func (c *DMReadConfig) setDefaults() {
	if c.Users == 0 {
		c.Users = 1_000_000
	}
	if c.Samples == 0 {
		c.Samples = 100
	}
}

// dmReadBuckets is how many buckets the generated users fall into.
const dmReadBuckets = 12

// DMReadReport is one run of `ration bench dm-read`: each reader's reads
// at a tenth of the users and at all of them.
type DMReadReport struct {
	Users   int
	Rows    int // log and read-model rows stored for all the users
	Load    time.Duration
	Results []DMReadResult
}

// DMReadResult is one reader's reads over one number of users.
type DMReadResult struct {
	Reader string // "view" or "whole-log"
	Users  int
	Stats  Quantiles
	Page   Quantiles // a page of dm.MaxPageSize checked users from a random cursor
	Lookup Quantiles // one random user
}

// Quantiles are the median and the 99th percentile of a read's samples.
type Quantiles struct{ P50, P99 time.Duration }

func quantiles(ds []time.Duration) Quantiles {
	return Quantiles{P50: Percentile(ds, 0.5), P99: Percentile(ds, 0.99)}
}

func (r DMReadReport) result(reader string, users int) DMReadResult {
	for _, res := range r.Results {
		if res.Reader == reader && res.Users == users {
			return res
		}
	}
	return DMReadResult{}
}

// StatsGrowth is how much slower the state view's stats got (by median)
// from a tenth of the users to all of them.
func (r DMReadReport) StatsGrowth() float64 {
	small, big := r.result("view", r.Users/10), r.result("view", r.Users)
	return ratio(big.Stats.P50, small.Stats.P50)
}

// Growth is how much slower the state view's reads got from a tenth of
// the users to all of them, for the read that grew most: 1 is flat, 10 is
// linear. It compares medians, which a hundred samples pin down; the 99th
// percentiles (GrowthP99) are one or two samples each and move from run
// to run with a merge or a pause.
func (r DMReadReport) Growth() float64 {
	return r.growth(func(q Quantiles) time.Duration { return q.P50 })
}

// GrowthP99 is Growth by the 99th percentiles.
func (r DMReadReport) GrowthP99() float64 {
	return r.growth(func(q Quantiles) time.Duration { return q.P99 })
}

func (r DMReadReport) growth(at func(Quantiles) time.Duration) float64 {
	small, big := r.result("view", r.Users/10), r.result("view", r.Users)
	return max(ratio(at(big.Stats), at(small.Stats)), ratio(at(big.Page), at(small.Page)),
		ratio(at(big.Lookup), at(small.Lookup)))
}

// VsWholeLog is the state view's p99 over the whole-log baseline's, for
// the read where the view gains least, at all the users.
func (r DMReadReport) VsWholeLog() float64 {
	v, w := r.result("view", r.Users), r.result("whole-log", r.Users)
	return max(ratio(v.Stats.P99, w.Stats.P99), ratio(v.Page.P99, w.Page.P99), ratio(v.Lookup.P99, w.Lookup.P99))
}

func ratio(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond)) }

// Print writes a table of every reader's reads and, last, one line of the
// figures docs/benchmarks.md keeps.
func (r DMReadReport) Print(w io.Writer) {
	fmt.Fprintf(w, "users=%d rows=%d load=%s (%.0f rows/s); times in ms\n", r.Users, r.Rows, r.Load.Round(time.Millisecond),
		float64(r.Rows)/r.Load.Seconds())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "reader\tusers\tstats p50\tstats p99\tpage p50\tpage p99\tlookup p50\tlookup p99\t")
	for _, res := range r.Results {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t\n", res.Reader, res.Users,
			ms(res.Stats.P50), ms(res.Stats.P99), ms(res.Page.P50), ms(res.Page.P99), ms(res.Lookup.P50), ms(res.Lookup.P99))
	}
	tw.Flush()
	fmt.Fprintf(w, "every read: growth=%.2f growth_p99=%.2f vs_whole_log=%.3f\n", r.Growth(), r.GrowthP99(), r.VsWholeLog())
	v := r.result("view", r.Users)
	fmt.Fprintf(w, "stats_p99_ms=%s page_ms=%s lookup_p99_ms=%s growth=%.2f\n",
		ms(v.Stats.P99), ms(v.Page.P99), ms(v.Lookup.P99), r.StatsGrowth())
}

// RunDMRead measures the DM read API at a tenth of cfg.Users and at all of
// them, on the state view's tables (dm.Reader) and on the whole log
// (dm.WholeLogReader, the baseline), over the same stored records. The
// records are what the pipeline's topics would hold for users with
// generated histories; the state view's own handler folds them, and the
// DM sink mappings turn them and the view's output into rows, inserted
// as the sink inserts them.
func RunDMRead(ctx context.Context, cfg DMReadConfig, progress io.Writer) (DMReadReport, error) {
	cfg.setDefaults()
	if cfg.Users < 10 {
		return DMReadReport{}, fmt.Errorf("users %d: need at least 10", cfg.Users)
	}
	rep := DMReadReport{Users: cfg.Users}
	d := dm.New()
	bd, err := openBenchDB(ctx, cfg.ClickHouse, d, "bench_dm_read", progress)
	if err != nil {
		return rep, err
	}
	defer bd.close()
	codec, conn, db := bd.codec, bd.conn, bd.db

	l, err := newDMLoader(d, codec, conn, db, cfg.Seed)
	if err != nil {
		return rep, err
	}
	view, err := dm.NewReader(conn, db)
	if err != nil {
		return rep, err
	}
	whole, err := dm.NewWholeLogReader(conn, db)
	if err != nil {
		return rep, err
	}
	r := rand.New(rand.NewPCG(cfg.Seed, 2))
	for _, users := range []int{cfg.Users / 10, cfg.Users} {
		fmt.Fprintf(progress, "loading users up to %d...\n", users)
		start := time.Now()
		if err := l.load(ctx, users); err != nil {
			return rep, err
		}
		rep.Load += time.Since(start)
		if err := awaitMerges(ctx, conn, db); err != nil {
			return rep, err
		}
		for _, reader := range []struct {
			name    string
			r       ration.DMReader
			samples int
		}{{"view", view, cfg.Samples}, {"whole-log", whole, max(3, cfg.Samples/10)}} {
			fmt.Fprintf(progress, "reading %d users from the %s...\n", users, reader.name)
			res, err := measureReads(ctx, reader.r, r, users, reader.samples)
			if err != nil {
				return rep, fmt.Errorf("%s: %w", reader.name, err)
			}
			res.Reader, res.Users = reader.name, users
			rep.Results = append(rep.Results, res)
		}
	}
	rep.Rows = l.rows
	return rep, nil
}

// benchDB is a database of its own for one run of a benchmark, on the
// ClickHouse server at an address or one it starts, with a pipeline's
// migrations applied and a codec of its records; close drops it.
type benchDB struct {
	codec *schemas.Codec
	conn  driver.Conn
	db    string
	close func()
}

func openBenchDB(ctx context.Context, addr string, d pipeline.Descriptor, name string, progress io.Writer) (*benchDB, error) {
	var stops []func()
	b := &benchDB{close: func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}}
	fail := func(err error) (*benchDB, error) { b.close(); return nil, err }
	if addr == "" {
		dir, err := os.MkdirTemp("", "ration-bench-clickhouse-")
		if err != nil {
			return nil, err
		}
		stops = append(stops, func() { os.RemoveAll(dir) })
		fmt.Fprintln(progress, "starting clickhouse-server in", dir)
		srv, err := chserver.Start(ctx, chserver.Config{Dir: dir})
		if err != nil {
			return fail(err)
		}
		stops = append(stops, func() {
			if err := srv.Stop(); err != nil {
				fmt.Fprintln(progress, "stop clickhouse-server:", err)
			}
		})
		addr = srv.Addr()
	}
	reg := srfake.New()
	stops = append(stops, reg.Close)
	topics, records := pipeline.Schemas([]pipeline.Descriptor{d})
	var err error
	if b.codec, err = (kafkaconn.Config{Registry: reg.URL()}).Codec(ctx, topics, records...); err != nil {
		return fail(err)
	}
	b.db = fmt.Sprintf("%s_%d", name, time.Now().UnixNano())
	if b.conn, err = sink.Open(ctx, sink.Target{ClickHouse: addr, Database: b.db}, pipeline.SinkLayout([]pipeline.Descriptor{d}).Migrations...); err != nil {
		return fail(err)
	}
	stops = append(stops, func() {
		if err := b.conn.Exec(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS "+b.db); err != nil {
			fmt.Fprintln(progress, "drop bench database:", err)
		}
		b.conn.Close()
	})
	return b, nil
}

// awaitMerges waits until no merge runs in db, so that the reads do not
// share the machine with the load's background merges.
func awaitMerges(ctx context.Context, conn driver.Conn, db string) error {
	for {
		var n uint64
		if err := conn.QueryRow(ctx, "SELECT count() FROM system.merges WHERE database = ?", db).Scan(&n); err != nil {
			return fmt.Errorf("merges: %w", err)
		}
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// measureReads times samples of each read over the first users users.
func measureReads(ctx context.Context, rd ration.DMReader, r *rand.Rand, users, samples int) (DMReadResult, error) {
	var res DMReadResult
	timeIt := func(fn func() error) ([]time.Duration, error) {
		ds := make([]time.Duration, 0, samples)
		for range samples {
			start := time.Now()
			if err := fn(); err != nil {
				return nil, err
			}
			ds = append(ds, time.Since(start))
		}
		return ds, nil
	}
	ds, err := timeIt(func() error {
		st, err := rd.DMStats(ctx)
		if err == nil && st.Unmarked+st.Pending+st.Parked+st.Checked+st.Failed == 0 {
			err = errors.New("stats count no users")
		}
		return err
	})
	if err != nil {
		return res, fmt.Errorf("stats: %w", err)
	}
	res.Stats = quantiles(ds)
	ds, err = timeIt(func() error {
		// A cursor in the first half leaves a whole page after it from
		// 30 000 users on.
		page, err := rd.DMUsers(ctx, ration.DMChecked, dmCursor(r.IntN(users/2)), dm.MaxPageSize)
		if err == nil && len(page.Users) == 0 {
			err = errors.New("an empty page")
		}
		return err
	})
	if err != nil {
		return res, fmt.Errorf("page: %w", err)
	}
	res.Page = quantiles(ds)
	ds, err = timeIt(func() error {
		id := dmReadUser(r.IntN(users))
		u, err := rd.DMUser(ctx, id)
		if errors.Is(err, ration.ErrNotFound) {
			return nil // a user whose history is events alone
		}
		if err == nil && u.UserID != id {
			err = fmt.Errorf("asked for %s, got %s", id, u.UserID)
		}
		return err
	})
	if err != nil {
		return res, fmt.Errorf("lookup: %w", err)
	}
	res.Lookup = quantiles(ds)
	return res, nil
}

func dmReadUser(i int) string { return fmt.Sprintf("user-%08d", i) }

// dmCursor is the page cursor that starts after user i.
func dmCursor(i int) string { return dm.EncodeCursor(dmReadUser(i)) }

// dmLoader generates users' histories, folds them with the state view's
// handler and stores the log and the view's output as the sink would.
type dmLoader struct {
	codec    *schemas.Codec
	conn     driver.Conn
	db       string
	view     processor.Handler
	store    processor.Store
	mappings map[string]sink.Mapping
	offsets  map[string]int64 // topic/partition -> next offset
	events   string
	seed     uint64
	next     int // the next user to generate
	rows     int
}

func newDMLoader(d pipeline.Descriptor, codec *schemas.Codec, conn driver.Conn, db string, seed uint64) (*dmLoader, error) {
	stage, ok := d.Stage(dm.ViewState)
	if !ok {
		return nil, fmt.Errorf("pipeline %s has no stage %s", d.Name, dm.ViewState)
	}
	view, err := stage.Handler(pipeline.Env{Codec: codec})
	if err != nil {
		return nil, err
	}
	l := &dmLoader{codec: codec, conn: conn, db: db, view: view, store: processor.NewMemoryStore(),
		mappings: make(map[string]sink.Mapping), offsets: make(map[string]int64), events: d.EventsTopic(), seed: seed}
	for _, m := range pipeline.SinkLayout([]pipeline.Descriptor{d}).Mappings {
		l.mappings[m.Topic] = m
	}
	return l, nil
}

// dmLoadChunk is how many users' records are folded and stored together:
// a batch of the view (its counts once per bucket) and one insert per
// table.
const dmLoadChunk = 20_000

// load generates, folds and stores users up to n.
func (l *dmLoader) load(ctx context.Context, n int) error {
	ender, _ := l.view.(processor.BatchEnder)
	for l.next < n {
		end := min(n, l.next+dmLoadChunk)
		var rows []sink.Row
		for ; l.next < end; l.next++ {
			for _, rec := range l.history(l.next) {
				rs, err := l.fold(ctx, rec)
				if err != nil {
					return err
				}
				rows = append(rows, rs...)
			}
		}
		if ender != nil {
			for b := range int32(dmReadBuckets) {
				out, err := ender.EndBatch(ctx, b, processor.StoreState(l.store, b))
				if err != nil {
					return err
				}
				for _, o := range out {
					rs, err := l.stored(o, b)
					if err != nil {
						return err
					}
					rows = append(rows, rs...)
				}
			}
		}
		if err := sink.Insert(ctx, l.conn, l.db, rows); err != nil {
			return err
		}
		l.rows += len(rows)
	}
	return nil
}

// fold runs rec through the view and returns the rows of rec and of what
// the view wrote.
func (l *dmLoader) fold(ctx context.Context, rec *kgo.Record) ([]sink.Row, error) {
	rows, err := l.stored(rec, rec.Partition)
	if err != nil {
		return nil, err
	}
	out, err := l.view.Process(ctx, rec, processor.StoreState(l.store, rec.Partition))
	if err != nil {
		return nil, fmt.Errorf("view of %s: %w", rec.Key, err)
	}
	for _, o := range out {
		rs, err := l.stored(o, rec.Partition)
		if err != nil {
			return nil, err
		}
		rows = append(rows, rs...)
	}
	return rows, nil
}

// stored places rec in partition p of its topic and returns its rows.
func (l *dmLoader) stored(rec *kgo.Record, p int32) ([]sink.Row, error) {
	k := fmt.Sprintf("%s/%d", rec.Topic, p)
	rec.Partition, rec.Offset = p, l.offsets[k]
	l.offsets[k]++
	m, ok := l.mappings[rec.Topic]
	if !ok {
		return nil, fmt.Errorf("no sink mapping for %s", rec.Topic)
	}
	return m.Rows(l.codec, rec)
}

// dmEpoch is when the generated histories start; user i's fall within
// the days after it.
var dmEpoch = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

// history generates user i's records, the same for the same seed: every
// user registers, half are marked once to three times, most marks are
// checked (with a processed event, as the check stage writes), a few
// fail in every delay tier and are parked, and some of those are given up
// or resent by the reprocessor.
func (l *dmLoader) history(i int) []*kgo.Record {
	r := rand.New(rand.NewPCG(l.seed, uint64(i)))
	user := dmReadUser(i)
	p := bucket(user)
	at := dmEpoch.Add(time.Duration(i) * time.Second)
	var recs []*kgo.Record
	add := func(topic string, v schemas.Record) {
		b, err := l.codec.Encode(v)
		if err != nil {
			panic(err) // the DM's own records under its own schemas
		}
		recs = append(recs, &kgo.Record{Topic: topic, Partition: p, Key: []byte(user), Value: b})
	}
	event := func(stage string, st schemas.Status, t time.Time) {
		add(l.events, &schemas.Event{ItemID: user, Pipeline: dm.Name, Stage: stage, Status: st,
			Attempt: 1, Worker: "bench", SourceTopic: dm.TopicChecks, Time: t})
	}
	add(dm.TopicUsers, &dm.User{UserID: user, RegisteredAt: at})
	marks := 0
	if r.IntN(2) == 0 {
		marks = 1 + r.IntN(3)
	}
	for m := range marks {
		marked := at.Add(time.Duration(m+1) * time.Hour)
		prio, topic := dm.PriorityNormal, dm.TopicChecks
		if r.IntN(10) == 0 {
			prio, topic = dm.PriorityHigh, dm.TopicChecksHigh
		}
		add(topic, &dm.Mark{UserID: user, Priority: prio, MarkedAt: marked})
		checked := marked.Add(time.Duration(1+r.IntN(5000)) * time.Millisecond)
		switch n := r.IntN(100); {
		case n < 85:
			open := r.IntN(3) == 0
			add(dm.TopicResults, &dm.Result{UserID: user, Priority: prio, MarkedAt: marked, CheckedAt: checked,
				Status: dm.ResultChecked, OpenDM: &open, Attempts: 1, Worker: "bench"})
			event(dm.StageCheck, schemas.StatusProcessed, checked)
		case n < 92:
			add(dm.TopicResults, &dm.Result{UserID: user, Priority: prio, MarkedAt: marked, CheckedAt: checked,
				Status: dm.ResultFailed, Attempts: 3, Worker: "bench", Error: "checker: permanent"})
			event(dm.StageCheck, schemas.StatusFailed, checked)
		case n < 96:
			event(dm.StageCheck, schemas.StatusError, checked)
			event(dm.StageCheck, schemas.StatusReprocess, checked.Add(time.Minute))
			switch r.IntN(3) {
			case 0:
				event(dm.ReprocessStage, schemas.StatusSuccess, checked.Add(time.Hour))
			case 1:
				event(dm.StageCheck, schemas.StatusFailed, checked.Add(time.Hour))
			}
		default:
			// Not checked yet: pending.
		}
	}
	return recs
}

// bucket spreads users over the buckets as a keyed partitioner would.
func bucket(user string) int32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(user))
	return int32(h.Sum32() % dmReadBuckets)
}
