package sink

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/internal/chserver/chtest"
	"github.com/rationhq/ration/internal/kafkatest"
	"github.com/rationhq/ration/schemas"
)

// feeder produces, until stopped, a new thing and a status event of an
// item of the same id: rows for the test pipeline's table and for the
// shared one, which a flush inserts one after the other. It records the
// offset after each record's, per topic and partition.
type feeder struct {
	t    testing.TB
	g    gen
	cl   *kgo.Client
	stop chan struct{}
	done chan struct{}

	mu   sync.Mutex
	n    int
	ends map[string]map[int32]int64
}

func startFeeder(t testing.TB, k *kafkatest.Kafka, g gen) *feeder {
	f := &feeder{t: t, g: g, cl: k.Client, stop: make(chan struct{}), done: make(chan struct{}),
		ends: map[string]map[int32]int64{testThings: {}, testEvents: {}}}
	go f.run()
	t.Cleanup(f.halt)
	return f
}

func (f *feeder) run() {
	defer close(f.done)
	// A steady trickle, so records arrive while ClickHouse is down and
	// while it comes back.
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-tick.C:
		}
		f.mu.Lock()
		id := fmt.Sprintf("c%06d", f.n)
		f.mu.Unlock()
		res := f.cl.ProduceSync(context.Background(), f.g.thing(id, 1, 0), f.g.event(id, schemas.StatusSuccess, 0))
		if err := res.FirstErr(); err != nil {
			f.t.Error(err)
			return
		}
		f.mu.Lock()
		f.n++
		for _, r := range res {
			f.ends[r.Record.Topic][r.Record.Partition] = r.Record.Offset + 1
		}
		f.mu.Unlock()
	}
}

func (f *feeder) halt() {
	select {
	case <-f.stop:
	default:
		close(f.stop)
	}
	<-f.done
}

func (f *feeder) produced() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}

// awaitMore waits until n more ids were produced.
func (f *feeder) awaitMore(n int) {
	f.t.Helper()
	want := f.produced() + n
	waitFor(f.t, 30*time.Second, "records produced", func() (bool, string) {
		return f.produced() >= want, fmt.Sprintf("%d of %d", f.produced(), want)
	})
}

// TestClickHouseCrash: ClickHouse killed (SIGKILL) under a running sink,
// twice, loses no row and doubles none; offsets are committed only for
// stored rows, and in the end for every record.
func TestClickHouseCrash(t *testing.T) {
	srv := chtest.Start(t) // its own: this test kills it
	k := newKafka(t, 2)
	db := newDB(t)
	g := newGen(t, k.Codec)
	ctx := context.Background()
	offsets := func() map[string]map[int32]int64 {
		c, err := committed(k.Client, "crash")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	reg := prometheus.NewRegistry()
	stopA := startSink(t, sinkConfig(srv.Addr(), db, "crash"), k, reg, nil)
	r := openReader(t, srv.Addr(), db)
	feed := startFeeder(t, k, g)
	waitFor(t, 30*time.Second, "first rows", func() (bool, string) {
		n, err := count(r.Conn(), "SELECT count() FROM things")
		return err == nil && n > 10, fmt.Sprintf("%d rows, err %v", n, err)
	})

	// awaitInsertErrors waits until the sink failed n more inserts.
	awaitInsertErrors := func(n float64) {
		t.Helper()
		want := metric(t, reg, "ration_sink_insert_errors_total") + n
		waitFor(t, 30*time.Second, "insert errors", func() (bool, string) {
			got := metric(t, reg, "ration_sink_insert_errors_total")
			return got >= want, fmt.Sprintf("%v of %v", got, want)
		})
	}

	t.Run("a crash mid-run loses nothing and commits nothing unstored", func(t *testing.T) {
		if err := srv.Kill(); err != nil {
			t.Fatal(err)
		}
		awaitInsertErrors(1)
		// The sink now holds rows it could not store; records keep coming.
		before := offsets()
		feed.awaitMore(20)
		awaitInsertErrors(2)
		if after := offsets(); !reflect.DeepEqual(after, before) {
			t.Fatalf("offsets committed while ClickHouse was down: %v then %v", before, after)
		}
		if err := srv.Restart(ctx); err != nil {
			t.Fatal(err)
		}
		feed.awaitMore(20) // more records after the restart
	})

	outer := t // the next sink must outlive the subtest that starts it
	t.Run("a sink stopped while ClickHouse is down leaves its rows to the next, which waits for it", func(t *testing.T) {
		if err := srv.Kill(); err != nil {
			t.Fatal(err)
		}
		feed.awaitMore(20)
		awaitInsertErrors(1)
		if err := stopA(); err != nil {
			t.Fatal(err)
		}
		startSink(outer, sinkConfig(srv.Addr(), db, "crash"), k, nil, nil)
		feed.awaitMore(20)
		if err := srv.Restart(ctx); err != nil {
			t.Fatal(err)
		}
		feed.awaitMore(20)
	})

	feed.halt()
	want := uint64(feed.produced())
	defer func() {
		if t.Failed() {
			c, err := committed(k.Client, "crash")
			t.Logf("committed %v (err %v), produced up to %v", c, err, feed.ends)
			explainMissing(t, r.Conn(), int(want))
		}
	}()
	for table, src := range map[string]string{"things": "src", "events": "event_id"} {
		waitRows(t, r.Conn(), want, "SELECT uniqExact("+src+") FROM "+table)
		if n := mustCount(t, r.Conn(), "SELECT count() FROM "+table+" FINAL"); n != want {
			t.Fatalf("%s: FINAL count %d, want %d", table, n, want)
		}
	}
	waitFor(t, 30*time.Second, "all offsets committed", func() (bool, string) {
		got := offsets()
		return reflect.DeepEqual(got, feed.ends), fmt.Sprintf("committed %v, produced up to %v", got, feed.ends)
	})
}

// explainMissing logs which of the first want things never arrived.
func explainMissing(t *testing.T, conn driver.Conn, want int) {
	rows, err := conn.Query(context.Background(), "SELECT DISTINCT id FROM things")
	if err != nil {
		t.Log(err)
		return
	}
	defer rows.Close()
	seen := make(map[string]bool)
	for rows.Next() {
		var id string
		if rows.Scan(&id) == nil {
			seen[id] = true
		}
	}
	var missing []string
	for i := range want {
		if id := fmt.Sprintf("c%06d", i); !seen[id] {
			missing = append(missing, id)
		}
	}
	t.Logf("%d things missing (first %.10v)", len(missing), missing)
}
