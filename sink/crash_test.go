package sink

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/internal/chserver/chtest"
	"github.com/rationhq/ration/schemas"
)

// feeder produces registrations of new users until stopped, recording the
// offset after each record's, per partition.
type feeder struct {
	t    testing.TB
	d    dm
	cl   *kgo.Client
	stop chan struct{}
	done chan struct{}

	mu   sync.Mutex
	n    int
	ends map[int32]int64
}

func startFeeder(t testing.TB, d dm) *feeder {
	f := &feeder{t: t, d: d, cl: d.env.client(t), stop: make(chan struct{}), done: make(chan struct{}), ends: make(map[int32]int64)}
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
		res := f.cl.ProduceSync(context.Background(), f.d.user(id))
		r, err := res.First()
		if err != nil {
			f.t.Error(err)
			return
		}
		f.mu.Lock()
		f.n++
		f.ends[r.Partition] = r.Offset + 1
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

// awaitMore waits until n more records were produced.
func (f *feeder) awaitMore(n int) {
	f.t.Helper()
	want := f.produced() + n
	waitFor(f.t, 30*time.Second, "records produced", func() (bool, string) {
		return f.produced() >= want, fmt.Sprintf("%d of %d", f.produced(), want)
	})
}

func TestClickHouseCrash(t *testing.T) {
	srv := chtest.Start(t) // its own: this test kills it
	env := newKafka(t, 2)
	db := newDB(t)
	d := dm{t: t, env: env, base: time.UnixMilli(1_750_000_000_000).UTC()}
	ctx := context.Background()
	admin := env.client(t)
	usersTopic := func() map[int32]int64 {
		c, err := committed(admin, "crash")
		if err != nil {
			t.Fatal(err)
		}
		return c[schemas.TopicDMUsers]
	}

	reg := prometheus.NewRegistry()
	stopA := startSink(t, testConfig(srv.Addr(), db, "crash"), env, reg)
	r := openReader(t, srv.Addr(), db)
	feed := startFeeder(t, d)
	waitFor(t, 30*time.Second, "first rows", func() (bool, string) {
		n, err := count(r.Conn(), "SELECT count() FROM dm_user_log")
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
		before := usersTopic()
		feed.awaitMore(20)
		awaitInsertErrors(2)
		if after := usersTopic(); !reflect.DeepEqual(after, before) {
			t.Fatalf("offsets committed while ClickHouse was down: %v then %v", before, after)
		}
		if err := srv.Restart(ctx); err != nil {
			t.Fatal(err)
		}
		feed.awaitMore(20) // more records after the restart
	})

	outer := t // the next sink must outlive the subtest that starts it
	t.Run("a sink stopped while ClickHouse is down leaves its rows to the next", func(t *testing.T) {
		if err := srv.Kill(); err != nil {
			t.Fatal(err)
		}
		feed.awaitMore(20)
		awaitInsertErrors(1)
		if err := stopA(); err != nil {
			t.Fatal(err)
		}
		if err := srv.Restart(ctx); err != nil {
			t.Fatal(err)
		}
		startSink(outer, testConfig(srv.Addr(), db, "crash"), env, nil)
		feed.awaitMore(20)
	})

	feed.halt()
	want := uint64(feed.produced())
	defer func() {
		if t.Failed() {
			explainMissing(t, r, admin, feed, int(want))
		}
	}()
	waitRows(t, r.Conn(), want, "SELECT uniqExact(src) FROM dm_user_log")
	if n, err := count(r.Conn(), "SELECT count() FROM dm_user_log FINAL"); err != nil || n != want {
		t.Fatalf("FINAL count %d, want %d (err %v)", n, want, err)
	}
	waitFor(t, 30*time.Second, "all offsets committed", func() (bool, string) {
		got := usersTopic()
		return reflect.DeepEqual(got, feed.ends), fmt.Sprintf("committed %v, produced up to %v", got, feed.ends)
	})
}

// explainMissing logs which users never arrived and what was committed.
func explainMissing(t *testing.T, r *Reader, admin *kgo.Client, feed *feeder, want int) {
	rows, err := r.Conn().Query(context.Background(), "SELECT DISTINCT user_id FROM dm_user_log")
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
	c, err := committed(admin, "crash")
	t.Logf("%d users missing (first %.10v); committed %v (%v), produced up to %v", len(missing), missing, c, err, feed.ends)
}
