package sink

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/internal/chserver/chtest"
	"github.com/rationhq/ration/internal/kafkaconn"
	"github.com/rationhq/ration/internal/kafkatest"
	"github.com/rationhq/ration/schemas"
)

// One ClickHouse server serves the whole test binary; each test uses a
// database of its own.
func TestMain(m *testing.M) { chtest.Main(m) }

// The tests store the records of a test pipeline "t", named as a pipeline
// descriptor names them: its status events, and "things", records of its
// own kept in a table its own migrations create.
const (
	testPipeline = "t"
	testEvents   = "ration.t.events"
	testThings   = "ration.t.things"
	testInput    = "ration.t.in" // the topic the events' items came from
)

// thing is the test pipeline's own record type.
type thing struct {
	ID   string    `avro:"id"`
	N    int64     `avro:"n"`
	Note string    `avro:"note"`
	Time time.Time `avro:"time"`
}

var thingSchema = schemas.MustSchema(fstest.MapFS{"thing.avsc": {Data: []byte(`{
  "type": "record", "name": "Thing", "namespace": "ration.t",
  "fields": [
    {"name": "id", "type": "string"},
    {"name": "n", "type": "long"},
    {"name": "note", "type": "string"},
    {"name": "time", "type": {"type": "long", "logicalType": "timestamp-millis"}}
  ]
}`)}}, "thing.avsc")

func (*thing) AvroSchema() *schemas.Schema { return thingSchema }

// thingMigrations are the test pipeline's DDL. The second needs the first
// (a view needs its table): they must run in order.
var thingMigrations = Migrations{Owner: testPipeline, FS: fstest.MapFS{
	"0001_things.sql": {Data: []byte(`-- One row per thing record. src is the record's
-- topic/partition/offset: a replayed record collapses on merge.
CREATE TABLE IF NOT EXISTS {db}.things (
    src     String,
    id      String,
    n       Int64,
    note    String,
    time_ms UInt64,
    day     Date
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY src;
`)},
	"0002_thing_totals.sql": {Data: []byte(`-- Each id's total, replayed records collapsed.
CREATE VIEW IF NOT EXISTS {db}.thing_totals AS
SELECT id, sum(n) AS n FROM {db}.things FINAL GROUP BY id;
`)},
}}

var thingsTable = &Table{Name: "things", Columns: []string{"src", "id", "n", "note", "time_ms", "day"}}

// thingsMapping stores the test pipeline's things in its things table.
func thingsMapping() Mapping {
	return Mapping{Topic: testThings, Rows: func(codec *schemas.Codec, r *kgo.Record) ([]Row, error) {
		var th thing
		if err := codec.Decode(r.Value, &th); err != nil {
			return nil, err
		}
		if err := Storable(th.Time); err != nil {
			return nil, err
		}
		return []Row{{Table: thingsTable, Values: []any{Src(r), th.ID, th.N, th.Note, uint64(th.Time.UnixMilli()), th.Time.UTC()}}}, nil
	}}
}

// testLayout is what the test sinks store: the test pipeline's events and
// things, and the audit log.
func testLayout() Layout {
	return Layout{
		Mappings:   []Mapping{EventsMapping(testEvents), AuditMapping(), thingsMapping()},
		Migrations: []Migrations{thingMigrations},
	}
}

var dbSeq atomic.Int64

// newDB returns a database name unique to t.
func newDB(t testing.TB) string {
	name := strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(t.Name(), "_"))
	return fmt.Sprintf("t%d_%.40s", dbSeq.Add(1), name)
}

// newReader opens a reader on a new database of the shared server, with
// the test pipeline's tables.
func newReader(t testing.TB) (*Reader, string) {
	t.Helper()
	db := newDB(t)
	return openReader(t, chtest.Shared(t).Addr(), db), db
}

// openReader opens a reader on addr/db with the test pipeline's tables,
// closed when t ends.
func openReader(t testing.TB, addr, db string) *Reader {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := OpenReader(ctx, Target{ClickHouse: addr, Database: db}, thingMigrations)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// newKafka starts an in-process Kafka with the test pipeline's topics
// (and the shared ones, audit among them), partitions partitions each.
func newKafka(t testing.TB, partitions int32) *kafkatest.Kafka {
	t.Helper()
	return kafkatest.New(t, partitions, testSetup)
}

var testSetup = kafkatest.Setup{
	Topics:  []kafkaconn.TopicSpec{{Name: testEvents}, {Name: testThings}},
	Schemas: []schemas.TopicSchema{{Topic: testEvents, Value: new(schemas.Event)}, {Topic: testThings, Value: new(thing)}},
}

// newCodec is a codec of the test pipeline's records, for tests without
// Kafka.
func newCodec(t testing.TB) *schemas.Codec {
	t.Helper()
	return kafkatest.Codec(t, testSetup)
}

// newClient is a client of k's broker, closed when t ends.
func newClient(t testing.TB, k *kafkatest.Kafka, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(k.Addrs()...)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// gen makes the records of one test, at seconds from base.
type gen struct {
	t     testing.TB
	codec *schemas.Codec
	base  time.Time
}

func newGen(t testing.TB, codec *schemas.Codec) gen {
	return gen{t: t, codec: codec, base: time.UnixMilli(1_750_000_000_000).UTC()}
}

func (g gen) at(s int) time.Time { return g.base.Add(time.Duration(s) * time.Second) }

func (g gen) rec(topic, key string, v schemas.Record) *kgo.Record {
	g.t.Helper()
	b, err := g.codec.Encode(v)
	if err != nil {
		g.t.Fatal(err)
	}
	return &kgo.Record{Topic: topic, Key: []byte(key), Value: b}
}

// event is a status event of item of the test pipeline at second s.
func (g gen) event(item string, st schemas.Status, s int) *kgo.Record {
	g.t.Helper()
	return g.rec(testEvents, item, &schemas.Event{ItemID: item, Pipeline: testPipeline, Stage: "copy", Status: st,
		Attempt: 1, Worker: "w1", SourceTopic: testInput, SourcePartition: 0, SourceOffset: int64(s), Time: g.at(s)})
}

// thing is a thing at second s.
func (g gen) thing(id string, n int64, s int) *kgo.Record {
	g.t.Helper()
	return g.rec(testThings, id, &thing{ID: id, N: n, Note: "note of " + id, Time: g.at(s)})
}

// audit is an audit record of client at second s.
func (g gen) audit(client string, status, s int) *kgo.Record {
	g.t.Helper()
	return g.rec(schemas.TopicAudit, client, &schemas.Audit{Client: client, Method: "POST", Route: "POST /v1/t/things",
		Status: status, Time: g.at(s)})
}

// store turns records into rows through the test layout's mappings and
// stores them with Insert, as a sink would, without Kafka. Records get
// partition 0 and their index as offset, so storing the same records
// twice is a replay.
func store(t testing.TB, conn driver.Conn, db string, codec *schemas.Codec, recs []*kgo.Record) {
	t.Helper()
	byTopic := make(map[string]Mapping)
	for _, m := range testLayout().Mappings {
		byTopic[m.Topic] = m
	}
	var rows []Row
	for i, r := range recs {
		r.Partition, r.Offset = 0, int64(i)
		m, ok := byTopic[r.Topic]
		if !ok {
			t.Fatalf("no mapping for topic %s", r.Topic)
		}
		rs, err := m.Rows(codec, r)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, rs...)
	}
	if err := Insert(context.Background(), conn, db, rows); err != nil {
		t.Fatal(err)
	}
}

func produce(t testing.TB, cl *kgo.Client, rs ...*kgo.Record) {
	t.Helper()
	if err := cl.ProduceSync(context.Background(), rs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// produceTx produces rs in one transaction, committed or aborted.
func produceTx(t testing.TB, cl *kgo.Client, commit bool, rs ...*kgo.Record) {
	t.Helper()
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	produce(t, cl, rs...)
	if err := cl.EndTransaction(context.Background(), kgo.TransactionEndTry(commit)); err != nil {
		t.Fatal(err)
	}
}

// sinkConfig is a sink config that flushes fast.
func sinkConfig(addr, db, group string) Config {
	return Config{Target: Target{ClickHouse: addr, Database: db}, Group: group, FlushInterval: 50 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}
}

// sinkKafka is the Kafka config of a sink of the brokers at addrs. The
// sink decodes with the codec it is given and never calls the registry,
// which the config must name nonetheless.
func sinkKafka(addrs ...string) kafkaconn.Config {
	return kafkaconn.Config{Brokers: addrs, Registry: "http://registry.invalid", Partitions: 1}
}

// startSink runs a sink of the test layout until the returned stop is
// called or t ends. stop returns Run's error. reg and log may be nil.
func startSink(t testing.TB, cfg Config, k *kafkatest.Kafka, reg prometheus.Registerer, log *slog.Logger) (stop func() error) {
	t.Helper()
	s, err := New(cfg, testLayout(), sinkKafka(k.Addrs()...), k.Codec, log, reg)
	if err != nil {
		t.Fatal(err)
	}
	return run(t, s)
}

// run runs s until the returned stop is called or t ends. stop returns
// Run's error.
func run(t testing.TB, s *Sink) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			runErr = <-done
		})
		return runErr
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	})
	return stop
}

// waitFor polls cond until it holds, failing t after timeout with what
// cond last said. ClickHouse and the sink give no event to wait on: the
// state is polled.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v (%s)", what, timeout, state)
		}
		<-tick.C
	}
}

// count runs a query returning one UInt64.
func count(conn driver.Conn, query string, args ...any) (uint64, error) {
	var n uint64
	err := conn.QueryRow(context.Background(), query, args...).Scan(&n)
	return n, err
}

// mustCount runs a query returning one UInt64, failing t on an error.
func mustCount(t testing.TB, conn driver.Conn, query string, args ...any) uint64 {
	t.Helper()
	n, err := count(conn, query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// waitRows waits until query, a count that only grows, counts want. It
// fails at once if the count passes want.
func waitRows(t testing.TB, conn driver.Conn, want uint64, query string) {
	t.Helper()
	waitFor(t, 30*time.Second, query, func() (bool, string) {
		n, err := count(conn, query)
		if err == nil && n > want {
			t.Fatalf("%s: %d, want %d", query, n, want)
		}
		return err == nil && n == want, fmt.Sprintf("got %d, want %d, err %v", n, want, err)
	})
}

// metric returns the sum of a metric family's values in reg over the
// series whose labels include labels (name, value pairs). A histogram
// counts its observations.
func metric(t testing.TB, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue series
				}
			}
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			case m.Histogram != nil:
				sum += float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return sum
}

// lagSeries returns the lag gauge's series in reg by topic/partition.
func lagSeries(t testing.TB, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]float64)
	for _, mf := range mfs {
		if mf.GetName() != "ration_sink_lag_records" {
			continue
		}
		for _, m := range mf.GetMetric() {
			var topic, partition string
			for _, lp := range m.GetLabel() {
				switch lp.GetName() {
				case "topic":
					topic = lp.GetValue()
				case "partition":
					partition = lp.GetValue()
				}
			}
			out[topic+"/"+partition] = m.GetGauge().GetValue()
		}
	}
	return out
}

// committed returns the offsets group committed.
func committed(cl *kgo.Client, group string) (map[string]map[int32]int64, error) {
	resp, err := kadm.NewClient(cl).FetchOffsets(context.Background(), group)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		return nil, err
	}
	out := make(map[string]map[int32]int64)
	resp.Each(func(o kadm.OffsetResponse) {
		if out[o.Topic] == nil {
			out[o.Topic] = make(map[int32]int64)
		}
		out[o.Topic][o.Partition] = o.At
	})
	return out, nil
}
