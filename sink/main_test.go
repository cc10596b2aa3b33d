package sink

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/rationhq/ration/internal/chserver/chtest"
	"github.com/rationhq/ration/internal/kafkaconn"
	"github.com/rationhq/ration/schemas"
)

// One ClickHouse server serves the whole test binary; each test uses a
// database of its own.
func TestMain(m *testing.M) { chtest.Main(m) }

var dbSeq atomic.Int64

// newDB returns a database name unique to t.
func newDB(t testing.TB) string {
	name := strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(t.Name(), "_"))
	return fmt.Sprintf("t%d_%.40s", dbSeq.Add(1), name)
}

// newReader opens a reader on a new database of the shared server.
func newReader(t testing.TB) (*Reader, string) {
	t.Helper()
	db := newDB(t)
	return openReader(t, chtest.Shared(t).Addr(), db), db
}

// openReader opens a reader on addr/db, closed when t ends.
func openReader(t testing.TB, addr, db string) *Reader {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := OpenReader(ctx, addr, db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// kafkaEnv is an in-process Kafka with a schema registry.
type kafkaEnv struct {
	cfg   kafkaconn.Config
	codec *schemas.Codec
}

func newKafka(t testing.TB, partitions int32) *kafkaEnv {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, schemas.Topics()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	reg := srfake.New()
	t.Cleanup(reg.Close)
	cl, err := sr.NewClient(sr.URLs(reg.URL()))
	if err != nil {
		t.Fatal(err)
	}
	codec, err := schemas.Register(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	return &kafkaEnv{cfg: kafkaconn.Config{Brokers: c.ListenAddrs(), Registry: reg.URL(), Partitions: partitions}, codec: codec}
}

func (e *kafkaEnv) client(t testing.TB, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(e.cfg.Brokers...)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// rec encodes v as a record of topic keyed by key.
func (e *kafkaEnv) rec(t testing.TB, topic, key string, v schemas.Record) *kgo.Record {
	t.Helper()
	b, err := e.codec.Encode(v)
	if err != nil {
		t.Fatal(err)
	}
	return &kgo.Record{Topic: topic, Key: []byte(key), Value: b}
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
	ctx := context.Background()
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	produce(t, cl, rs...)
	if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
		t.Fatal(err)
	}
}

// startSink runs a sink until the returned stop is called or t ends. stop
// returns Run's error.
func startSink(t testing.TB, cfg Config, env *kafkaEnv, reg prometheus.Registerer) (stop func() error) {
	t.Helper()
	s, err := New(cfg, env.cfg, env.codec, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
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

// testConfig is a sink config that flushes fast.
func testConfig(addr, db, group string) Config {
	return Config{ClickHouse: addr, Database: db, Group: group, FlushInterval: 50 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}
}

// waitFor polls cond until it holds, failing t after timeout with what
// cond last said.
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

// waitRows waits until query counts want.
func waitRows(t testing.TB, conn driver.Conn, want uint64, query string) {
	t.Helper()
	waitFor(t, 30*time.Second, query, func() (bool, string) {
		n, err := count(conn, query)
		return err == nil && n == want, fmt.Sprintf("got %d, want %d, err %v", n, want, err)
	})
}

// metric returns the sum of a metric family's values in reg.
func metric(t testing.TB, reg *prometheus.Registry, name string) float64 {
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
		for _, m := range mf.GetMetric() {
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			}
		}
	}
	return sum
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
