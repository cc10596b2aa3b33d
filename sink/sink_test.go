package sink

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/chaos/netcut"
	"github.com/rationhq/ration/internal/chserver/chtest"
	"github.com/rationhq/ration/internal/freeport"
	"github.com/rationhq/ration/internal/kafkaconn"
	"github.com/rationhq/ration/internal/syncbuf"
	"github.com/rationhq/ration/schemas"
)

// keyed returns r with key key: records of one key share a partition.
func keyed(r *kgo.Record, key string) *kgo.Record {
	r.Key = []byte(key)
	return r
}

func TestSinkEndToEnd(t *testing.T) {
	srv := chtest.Shared(t)
	k := newKafka(t, 3)
	db := newDB(t)
	g := newGen(t, k.Codec)

	// First an aborted transaction, whose records must never be stored. Its
	// keys are those of committed records that follow on the same topics:
	// once those are stored, the sink has read past the aborted ones.
	aborts := newClient(t, k, kgo.TransactionalID("aborts"))
	produceTx(t, aborts, false,
		keyed(g.thing("ghost", 666, 90), "a"), keyed(g.event("ghost", schemas.StatusSuccess, 90), "a"),
		keyed(g.audit("ghost", 200, 90), "ci"))

	commits := newClient(t, k, kgo.TransactionalID("commits"))
	produceTx(t, commits, true,
		g.thing("a", 1, 1), g.thing("b", 2, 1),
		g.event("a", schemas.StatusError, 1), g.event("b", schemas.StatusSuccess, 1),
		g.audit("ci", 202, 1))
	// Then, outside transactions, a record that does not decode and one
	// whose time no table can hold, each followed on its partition by
	// records that must still be stored.
	farFuture := g.rec(testThings, "a", &thing{ID: "far", Time: time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)})
	produce(t, k.Client,
		&kgo.Record{Topic: testThings, Key: []byte("a"), Value: []byte("not avro")},
		farFuture,
		keyed(g.thing("after-bad", 3, 2), "a"),
		g.event("a", schemas.StatusReprocess, 2), g.event("a", schemas.StatusProcessed, 3),
		g.audit("admin", 200, 2))
	const things, events, audits = 3, 4, 2

	reg := prometheus.NewRegistry()
	var logs syncbuf.Buffer
	startSink(t, sinkConfig(srv.Addr(), db, "e2e"), k, reg, slog.New(slog.NewTextHandler(&logs, nil)))
	// The sink migrates its database itself: nothing else created the
	// test pipeline's table that the rows arrive in.
	conn, err := dial(Target{ClickHouse: srv.Addr()}, db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	waitRows(t, conn, things, "SELECT count() FROM things FINAL")
	waitRows(t, conn, events, "SELECT count() FROM events FINAL")
	waitRows(t, conn, audits, "SELECT count() FROM audit FINAL")
	r := openReader(t, srv.Addr(), db)
	ctx := context.Background()

	t.Run("aborted records never arrive", func(t *testing.T) {
		for _, q := range []string{
			"SELECT count() FROM things WHERE id = 'ghost'",
			"SELECT count() FROM events WHERE item_id = 'ghost'",
			"SELECT count() FROM audit WHERE client = 'ghost'",
		} {
			if n := mustCount(t, conn, q); n != 0 {
				t.Errorf("%s: %d", q, n)
			}
		}
	})
	t.Run("records that cannot be stored are skipped, counted and logged while the rest flows", func(t *testing.T) {
		if n := metric(t, reg, "ration_sink_decode_errors_total", "topic", testThings); n != 2 {
			t.Errorf("decode errors of %s: %v, want 2", testThings, n)
		}
		if n := metric(t, reg, "ration_sink_decode_errors_total"); n != 2 {
			t.Errorf("decode errors: %v, want 2", n)
		}
		var skipped []string
		for line := range strings.Lines(logs.String()) {
			if strings.Contains(line, "record skipped") {
				skipped = append(skipped, line)
			}
		}
		if len(skipped) != 2 || !strings.Contains(skipped[0], "topic="+testThings) ||
			!strings.Contains(skipped[1], "outside 1970..2149") {
			t.Errorf("skipped records logged as %q", skipped)
		}
		if n := mustCount(t, conn, "SELECT count() FROM things WHERE id = 'after-bad'"); n != 1 {
			t.Errorf("the record after the bad ones: %d rows, want 1", n)
		}
	})
	t.Run("every kind of row keeps its columns", func(t *testing.T) {
		var (
			id, note string
			n        int64
			ms       uint64
			day      time.Time
		)
		if err := conn.QueryRow(ctx, "SELECT id, n, note, time_ms, day FROM things WHERE id = 'b'").Scan(&id, &n, &note, &ms, &day); err != nil {
			t.Fatal(err)
		}
		if id != "b" || n != 2 || note != "note of b" || ms != uint64(g.at(1).UnixMilli()) || day.Format(time.DateOnly) != g.at(1).Format(time.DateOnly) {
			t.Errorf("thing b: %s %d %q %d %v", id, n, note, ms, day)
		}

		hist, err := r.ItemHistory(ctx, testPipeline, "a", time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range hist {
			got = append(got, fmt.Sprintf("%s/%s/%d/%s/%s/%d/%s", e.Stage, e.Status, e.Attempt, e.Worker, e.SourceTopic, e.SourceOffset, e.Time.UTC().Format(time.TimeOnly)))
		}
		want := []string{"copy/ERROR/1/w1/ration.t.in/1/" + g.at(1).Format(time.TimeOnly),
			"copy/REPROCESS/1/w1/ration.t.in/2/" + g.at(2).Format(time.TimeOnly),
			"copy/PROCESSED/1/w1/ration.t.in/3/" + g.at(3).Format(time.TimeOnly)}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("history of a:\n got %q\nwant %q", got, want)
		}

		audit, err := r.Audit(ctx, ration.AuditQuery{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		wantAudit := []ration.AuditEntry{
			{Client: "admin", Method: "POST", Route: "POST /v1/t/things", Status: 200, Time: ration.Timestamp{Time: g.at(2)}},
			{Client: "ci", Method: "POST", Route: "POST /v1/t/things", Status: 202, Time: ration.Timestamp{Time: g.at(1)}},
		}
		if !reflect.DeepEqual(audit, wantAudit) {
			t.Errorf("audit:\n got %+v\nwant %+v", audit, wantAudit)
		}
	})
	t.Run("metrics count rows and flushes", func(t *testing.T) {
		for table, want := range map[string]float64{"things": things, "events": events, "audit": audits} {
			if n := metric(t, reg, "ration_sink_rows_inserted_total", "table", table); n != want {
				t.Errorf("rows inserted into %s: %v, want %v", table, n, want)
			}
		}
		flushes := metric(t, reg, "ration_sink_flushes_total")
		if flushes < 1 || metric(t, reg, "ration_sink_batch_rows") != flushes || metric(t, reg, "ration_sink_flush_seconds") != flushes {
			t.Errorf("%v flushes, %v batch sizes, %v flush times: want one of each per flush", flushes,
				metric(t, reg, "ration_sink_batch_rows"), metric(t, reg, "ration_sink_flush_seconds"))
		}
		if n := metric(t, reg, "ration_sink_insert_errors_total") + metric(t, reg, "ration_sink_commit_errors_total"); n != 0 {
			t.Errorf("%v insert or commit errors", n)
		}
	})
}

// TestNewRefuses: a sink that could not work is refused before it starts.
func TestNewRefuses(t *testing.T) {
	codec := newCodec(t)
	kc := sinkKafka("127.0.0.1:1")
	for _, tc := range []struct {
		name   string
		cfg    Config
		layout Layout
		kafka  kafkaconn.Config
		codec  *schemas.Codec
	}{
		{"a database name that needs quoting", Config{Target: Target{Database: "a-b"}}, testLayout(), kc, codec},
		{"no Kafka brokers", Config{}, testLayout(), kafkaconn.Config{Registry: kc.Registry, Partitions: 1}, codec},
		{"no codec", Config{}, testLayout(), kc, nil},
		{"no topics", Config{}, Layout{}, kc, codec},
		{"a topic mapped twice", Config{}, Layout{Mappings: []Mapping{EventsMapping(testEvents), EventsMapping(testEvents)}}, kc, codec},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.cfg, tc.layout, tc.kafka, tc.codec, nil, nil); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	t.Run("nothing wrong", func(t *testing.T) {
		if _, err := New(Config{}, testLayout(), kc, codec, nil, nil); err != nil {
			t.Fatal(err)
		}
	})
}

// TestRunWaitsForClickHouse: Run keeps trying a ClickHouse that is not
// there, returns without error when its context ends, and runs only once.
func TestRunWaitsForClickHouse(t *testing.T) {
	var logs syncbuf.Buffer
	s, err := New(Config{Target: Target{ClickHouse: "127.0.0.1:1"}}, testLayout(), sinkKafka("127.0.0.1:1"), newCodec(t),
		slog.New(slog.NewTextHandler(&logs, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	waitFor(t, 10*time.Second, "two attempts to reach ClickHouse", func() (bool, string) {
		n := strings.Count(logs.String(), "clickhouse not ready, retrying")
		return n >= 2, fmt.Sprintf("%d attempts", n)
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run ended by its context: %v", err)
	}
	if err := s.Run(context.Background()); err == nil {
		t.Fatal("second Run accepted")
	}
}

// buffered is how many records s holds unflushed.
func buffered(s *Sink) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.records
}

// held lists the partitions s holds records of, as topic/partition.
func held(s *Sink) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for p := range s.buf.parts {
		out = append(out, fmt.Sprintf("%s/%d", p.topic, p.id))
	}
	slices.Sort(out)
	return out
}

// TestRevokedPartitionsRowsDropped: when a second member joins, the first
// drops the unflushed rows of the partitions it hands over, and the second
// reads them again: every record is stored once, by one of them.
func TestRevokedPartitionsRowsDropped(t *testing.T) {
	srv := chtest.Shared(t)
	k := newKafka(t, 4)
	db := newDB(t)
	g := newGen(t, k.Codec)
	var recs []*kgo.Record
	// Records on every partition of every topic: whichever partitions
	// move, the second member gets records to read.
	for i := range 40 {
		id := fmt.Sprintf("r%02d", i)
		recs = append(recs, g.thing(id, int64(i), i), g.event(id, schemas.StatusSuccess, i), g.audit(id, 200, i))
	}
	produce(t, k.Client, recs...)

	// Neither member flushes until it stops: what each holds is visible.
	cfg := sinkConfig(srv.Addr(), db, "handover")
	cfg.FlushInterval, cfg.BatchRows = time.Hour, 1_000_000
	kc := sinkKafka(k.Addrs()...)
	newMember := func(reg prometheus.Registerer) *Sink {
		s, err := New(cfg, testLayout(), kc, k.Codec, nil, reg, kgo.HeartbeatInterval(100*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	regA := prometheus.NewRegistry()
	a := newMember(regA)
	stopA := run(t, a)
	waitFor(t, 30*time.Second, "first member holds every record", func() (bool, string) {
		return buffered(a) == len(recs), fmt.Sprintf("%d of %d", buffered(a), len(recs))
	})
	b := newMember(nil)
	stopB := run(t, b)
	waitFor(t, 30*time.Second, "records shared between the members, each held once", func() (bool, string) {
		// The second reads what the first dropped: counted second first,
		// the two never overlap.
		nb := buffered(b)
		na := buffered(a)
		if na+nb > len(recs) {
			t.Fatalf("first holds %d, second %d: more than the %d records", na, nb, len(recs))
		}
		return na > 0 && nb > 0 && na+nb == len(recs), fmt.Sprintf("first holds %d, second %d, of %d", na, nb, len(recs))
	})
	lag := lagSeries(t, regA)
	if got := slices.Sorted(maps.Keys(lag)); !reflect.DeepEqual(got, held(a)) {
		t.Errorf("first member reports the lag of %v, holds %v: want the lag of what it holds", got, held(a))
	}
	if err := stopA(); err != nil {
		t.Fatal(err)
	}
	if err := stopB(); err != nil {
		t.Fatal(err)
	}
	conn, err := dial(Target{ClickHouse: srv.Addr()}, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for table, src := range map[string]string{"things": "src", "events": "event_id", "audit": "src"} {
		// Without FINAL: a row stored twice would show.
		if n, uniq := mustCount(t, conn, "SELECT count() FROM "+table), mustCount(t, conn, "SELECT uniqExact("+src+") FROM "+table); n != 40 || uniq != 40 {
			t.Errorf("%s: %d rows of %d records, want 40 of 40", table, n, uniq)
		}
	}
}

// TestLagMetric: the lag gauge has a series per partition read, at zero
// once the sink read every record.
func TestLagMetric(t *testing.T) {
	srv := chtest.Shared(t)
	k := newKafka(t, 2)
	g := newGen(t, k.Codec)
	cl := newClient(t, k, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	var recs []*kgo.Record
	for i := range 5 {
		r := g.thing(fmt.Sprint(i), 1, i)
		r.Partition = int32(i % 2)
		recs = append(recs, r)
	}
	produce(t, cl, recs...)
	// Transactions leave markers behind their records, and an aborted
	// one leaves records no one reads: neither is lag.
	tx := newClient(t, k, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.TransactionalID("lag"))
	committed, aborted := g.thing("c", 1, 5), g.thing("a", 1, 6)
	committed.Partition, aborted.Partition = 0, 1
	produceTx(t, tx, true, committed)
	produceTx(t, tx, false, aborted)
	reg := prometheus.NewRegistry()
	startSink(t, sinkConfig(srv.Addr(), newDB(t), "lag"), k, reg, nil)
	want := map[string]float64{testThings + "/0": 0, testThings + "/1": 0}
	waitFor(t, 30*time.Second, "lag of every partition read", func() (bool, string) {
		got := lagSeries(t, reg)
		return reflect.DeepEqual(got, want), fmt.Sprintf("got %v, want %v", got, want)
	})
}

// TestReplayChangesNoAnswer: a second consumer group stores every record
// again, and no read query answers differently.
func TestReplayChangesNoAnswer(t *testing.T) {
	srv := chtest.Shared(t)
	k := newKafka(t, 3)
	db := newDB(t)
	g := newGen(t, k.Codec)
	var (
		recs  []*kgo.Record
		items []ration.ItemKey
	)
	for i := range 40 {
		id := fmt.Sprintf("i%02d", i)
		items = append(items, ration.ItemKey{Pipeline: testPipeline, ItemID: id})
		switch i % 5 {
		case 0:
			recs = append(recs, g.event(id, schemas.StatusProcessed, i))
		case 1: // parked
			recs = append(recs, g.event(id, schemas.StatusError, i), g.event(id, schemas.StatusReprocess, i+1))
		case 2:
			recs = append(recs, g.event(id, schemas.StatusSuccess, i))
		case 3:
			recs = append(recs, g.event(id, schemas.StatusError, i))
		case 4:
			recs = append(recs, g.event(id, schemas.StatusError, i), g.event(id, schemas.StatusFailed, i+1))
		}
		if i%2 == 0 {
			recs = append(recs, g.thing(id, int64(i), i))
		}
		if i%4 == 0 {
			recs = append(recs, g.audit(fmt.Sprintf("client%d", i%3), 200+i, i))
		}
	}
	produce(t, k.Client, recs...)

	stopA := startSink(t, sinkConfig(srv.Addr(), db, "first"), k, nil, nil)
	r := openReader(t, srv.Addr(), db)
	waitRows(t, r.Conn(), 56, "SELECT uniqExact(event_id) FROM events")
	waitRows(t, r.Conn(), 20, "SELECT uniqExact(src) FROM things")
	waitRows(t, r.Conn(), 10, "SELECT uniqExact(src) FROM audit")
	before := takeSnapshot(t, r, items)
	if len(before.Candidates) != 24 || len(before.LastChanged) != 40 || len(before.Audit) != 10 {
		t.Fatalf("snapshot holds %d candidates, %d items, %d audit entries; want 24, 40, 10",
			len(before.Candidates), len(before.LastChanged), len(before.Audit))
	}
	if err := stopA(); err != nil {
		t.Fatal(err)
	}
	first, err := committed(k.Client, "first")
	if err != nil {
		t.Fatal(err)
	}

	// A new group reads everything again and stores every row a second time.
	reg := prometheus.NewRegistry()
	startSink(t, sinkConfig(srv.Addr(), db, "second"), k, reg, nil)
	waitFor(t, 30*time.Second, "second group caught up", func() (bool, string) {
		got, err := committed(k.Client, "second")
		return err == nil && reflect.DeepEqual(got, first), fmt.Sprintf("second %v, first %v, err %v", got, first, err)
	})
	if n := metric(t, reg, "ration_sink_rows_inserted_total"); n != float64(len(recs)) {
		t.Fatalf("replay inserted %v rows, want %d", n, len(recs))
	}
	if after := takeSnapshot(t, r, items); !reflect.DeepEqual(after, before) {
		t.Fatalf("answers changed by a replay:\nbefore %+v\nafter  %+v", before, after)
	}
}

// snapshot is every answer the reader gives about some items, and the
// collapsed row counts, for comparing before and after a replay.
type snapshot struct {
	History     map[string][]ration.ItemEvent
	Candidates  []ration.ItemStatus
	LastChanged map[ration.ItemKey]time.Time
	Audit       []ration.AuditEntry
	Final       map[string]uint64
}

func takeSnapshot(t testing.TB, r *Reader, items []ration.ItemKey) snapshot {
	t.Helper()
	ctx := context.Background()
	s := snapshot{History: make(map[string][]ration.ItemEvent), Final: make(map[string]uint64)}
	for _, it := range items {
		h, err := r.ItemHistory(ctx, it.Pipeline, it.ItemID, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		s.History[it.ItemID] = h
	}
	s.Candidates = allCandidates(t, r, ration.ReprocessSelection{StuckBefore: time.Now()}, 7)
	var err error
	if s.LastChanged, err = r.LastChanged(ctx, items); err != nil {
		t.Fatal(err)
	}
	if s.Audit, err = r.Audit(ctx, ration.AuditQuery{Limit: 1000}); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"events", "things", "audit"} {
		s.Final[table] = mustCount(t, r.Conn(), "SELECT count() FROM "+table+" FINAL")
	}
	s.Final["thing_totals"] = mustCount(t, r.Conn(), "SELECT toUInt64(sum(n)) FROM thing_totals")
	return s
}

// TestWaitReaderWaitsForClickHouse: a reader opened while nothing answers
// at ClickHouse's address (a server restarting) keeps trying, and opens
// once the server is there.
func TestWaitReaderWaitsForClickHouse(t *testing.T) {
	port, err := freeport.Port("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	var logs syncbuf.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	type opened struct {
		r   *Reader
		err error
	}
	done := make(chan opened, 1)
	go func() {
		r, err := WaitReader(ctx, Target{ClickHouse: addr, Database: newDB(t)}, slog.New(slog.NewTextHandler(&logs, nil)), thingMigrations)
		done <- opened{r, err}
	}()
	waitFor(t, 10*time.Second, "a failed attempt", func() (bool, string) {
		return strings.Contains(logs.String(), "clickhouse not ready, retrying"), logs.String()
	})
	// The server comes back at the address.
	p, err := netcut.Listen(addr, chtest.Shared(t).Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	o := <-done
	if o.err != nil {
		t.Fatal(o.err)
	}
	defer o.r.Close()
	if err := o.r.Conn().Ping(ctx); err != nil {
		t.Fatal(err)
	}
}
