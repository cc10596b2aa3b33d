package buckets

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/internal/kafkaconn"
	"github.com/rationhq/ration/internal/kafkatest"
)

const (
	high   = "ration.t.checks.high"
	normal = "ration.t.checks"
)

// TestInspector runs a group of two static members over two topics of two
// partitions each, with part of the records committed:
//
//	high/0:   4 records, committed 1       -> lag 3, oldest is offset 1
//	high/1:   3 records, never committed   -> lag 3 from the start
//	normal/0: 5 records in a transaction, committed 5 -> lag 0: only
//	          the commit marker (offset 5) is left
//	normal/1: 2 records in a transaction, then one more, committed 2
//	          -> lag 1: the marker (offset 2) is skipped, offset 3 waits
//
// and a second stage whose group never ran, over the high topic.
func TestInspector(t *testing.T) {
	k := kafkatest.New(t, 2, kafkatest.Setup{Topics: []kafkaconn.TopicSpec{{Name: high}, {Name: normal}}})
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	at := func(s int) time.Time { return base.Add(time.Duration(s) * time.Second) }
	produce(t, k, "", records(high, 0, 4, at(0))...)
	produce(t, k, "", records(high, 1, 3, at(10))...)
	produce(t, k, "test-txn", records(normal, 0, 5, at(20))...)
	produce(t, k, "test-txn", records(normal, 1, 2, at(30))...)
	produce(t, k, "", records(normal, 1, 1, at(40))...)

	g := joinGroup(t, k, "test.check", []string{high, normal}, "w-0", "w-1")
	g.commit(t, map[tp]int64{{high, 0}: 1, {normal, 0}: 5, {normal, 1}: 2})

	var now atomic.Pointer[time.Time]
	setNow := func(t time.Time) { now.Store(&t) }
	setNow(at(100))
	reg := prometheus.NewRegistry()
	in, err := New(Config{Stages: []Stage{
		{Pipeline: "dm", Name: "check", Group: "test.check", Topics: []string{high, normal}},
		{Pipeline: "other", Name: "never", Group: "test.never", Topics: []string{high}},
	}}, Deps{Kafka: []kgo.Opt{kgo.SeedBrokers(k.Addrs()...)}, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(in.Close)
	in.now = func() time.Time { return *now.Load() }
	ctx := context.Background()

	r, err := in.Sample(ctx)
	if err != nil {
		t.Fatal(err)
	}
	check := r.Pipelines[0].Stages[0]
	if r.Pipelines[0].Name != "dm" || check.Name != "check" || check.Group != "test.check" {
		t.Fatalf("first stage %s/%s group %s", r.Pipelines[0].Name, check.Name, check.Group)
	}
	if got := strings.Join(check.Members, ","); got != "w-0,w-1" {
		t.Fatalf("members %q, want w-0,w-1", got)
	}
	wantBuckets(t, check, g.owners(), map[tp]bucketWant{
		{high, 0}: {lag: 3, oldest: 99}, {high, 1}: {lag: 3, oldest: 90},
		{normal, 0}: {drain: ptr(0)}, {normal, 1}: {lag: 1, oldest: 60},
	})
	// The markers take offsets: normal/0 has one left, normal/1 two.
	if b := in.prev.stages[0].buckets[2]; b.tp != (tp{normal, 0}) || b.position != 5 || b.end != 6 {
		t.Fatalf("normal/0 read at %d of %d, want 5 of 6 (the marker left)", b.position, b.end)
	}
	if b := in.prev.stages[0].buckets[3]; b.tp != (tp{normal, 1}) || b.position != 2 || b.end != 4 {
		t.Fatalf("normal/1 read at %d of %d, want 2 of 4 (a marker and a record left)", b.position, b.end)
	}
	if check.Lag != 7 || check.OldestWaitingSeconds != 99 || check.RecordsPerSecond != 0 || check.DrainSeconds != nil {
		t.Fatalf("first sample of check: %+v", check)
	}
	never := r.Pipelines[1].Stages[0]
	if len(never.Members) != 0 || never.Lag != 7 || never.OldestWaitingSeconds != 100 {
		t.Fatalf("stage of a group that never ran: %+v", never)
	}
	wantBuckets(t, never, map[tp]string{}, map[tp]bucketWant{{high, 0}: {lag: 4, oldest: 100}, {high, 1}: {lag: 3, oldest: 90}})

	// Four records committed in five seconds.
	g.commit(t, map[tp]int64{{high, 0}: 3, {high, 1}: 2})
	setNow(at(105))
	if r, err = in.Buckets(ctx); err != nil {
		t.Fatal(err)
	}
	if !r.SampledAt.Equal(at(105)) || r.RateIntervalSeconds != 5 {
		t.Fatalf("second sample at %v over %v s, want a new one at %v over 5 s", r.SampledAt, r.RateIntervalSeconds, at(105))
	}
	check = r.Pipelines[0].Stages[0]
	wantBuckets(t, check, g.owners(), map[tp]bucketWant{
		{high, 0}: {lag: 1, oldest: 102, rate: 0.4, drain: ptr(2.5)}, {high, 1}: {lag: 1, oldest: 93, rate: 0.4, drain: ptr(2.5)},
		{normal, 0}: {drain: ptr(0)}, {normal, 1}: {lag: 1, oldest: 65},
	})
	if check.Lag != 3 || check.RecordsPerSecond != 0.8 || check.DrainSeconds == nil || *check.DrainSeconds != 3.75 || check.OldestWaitingSeconds != 102 {
		t.Fatalf("second sample of check: %+v (drain %v)", check, check.DrainSeconds)
	}
	if never = r.Pipelines[1].Stages[0]; never.RecordsPerSecond != 0 || never.DrainSeconds != nil {
		t.Fatalf("stage with no progress: %+v", never)
	}

	// A report younger than the interval is answered as it is.
	setNow(at(105).Add(DefaultConfig().Interval - time.Millisecond))
	g.commit(t, map[tp]int64{{high, 0}: 4})
	if again, err := in.Buckets(ctx); err != nil || !again.SampledAt.Equal(at(105)) || again.Pipelines[0].Stages[0].Lag != 3 {
		t.Fatalf("a fresh report was sampled again: %v %+v", err, again)
	}

	wantMetrics(t, reg, g.owners(), map[string]float64{
		`ration_bucket_lag_records{partition="0",pipeline="dm",stage="check",topic="ration.t.checks.high"}`:    1,
		`ration_bucket_lag_records{partition="1",pipeline="dm",stage="check",topic="ration.t.checks"}`:         1,
		`ration_bucket_lag_records{partition="0",pipeline="other",stage="never",topic="ration.t.checks.high"}`: 4,
		`ration_stage_members{pipeline="dm",stage="check"}`:                                                    2,
		`ration_stage_members{pipeline="other",stage="never"}`:                                                 0,
		`ration_stage_records_per_second{pipeline="dm",stage="check"}`:                                         0.8,
		`ration_stage_drain_seconds{pipeline="dm",stage="check"}`:                                              3.75,
		`ration_stage_drain_seconds{pipeline="other",stage="never"}`:                                           math.Inf(1),
		`ration_stage_oldest_waiting_seconds{pipeline="dm",stage="check"}`:                                     102,
		`ration_buckets_samples_total{result="ok"}`:                                                            2,
		`ration_buckets_sampled_timestamp_seconds`:                                                             float64(at(105).Unix()),
	})
}

func TestRunSamplesAtOnceAndStopsWithItsContext(t *testing.T) {
	k := kafkatest.New(t, 2, kafkatest.Setup{Topics: []kafkaconn.TopicSpec{{Name: high}, {Name: normal}}})
	in, err := New(Config{Interval: time.Hour, Stages: []Stage{{Pipeline: "dm", Name: "check", Group: "g", Topics: []string{high}}}},
		Deps{Kafka: []kgo.Opt{kgo.SeedBrokers(k.Addrs()...)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(in.Close)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	// The first sample is Run's own, not one taken on request: wait for it
	// (nothing else signals it) before asking.
	deadline := time.Now().Add(10 * time.Second)
	for in.latest.Load() == nil {
		if time.Now().After(deadline) {
			t.Fatal("Run took no sample within 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	first := in.latest.Load()
	if r, err := in.Buckets(ctx); err != nil || !r.SampledAt.Equal(first.SampledAt.Time) {
		t.Fatalf("report %v %v, want Run's sample of %v", r.SampledAt, err, first.SampledAt)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

func TestConfigValidate(t *testing.T) {
	ok := Stage{Pipeline: "dm", Name: "check", Group: "g", Topics: []string{"t"}}
	for _, tc := range []struct {
		name   string
		stages []Stage
		want   string
	}{
		{"no stages", nil, "no stages"},
		{"no group", []Stage{{Pipeline: "dm", Name: "check", Topics: []string{"t"}}}, "no consumer group"},
		{"no topics", []Stage{{Pipeline: "dm", Name: "check", Group: "g"}}, "no input topics"},
		{"no name", []Stage{{Pipeline: "dm", Group: "g", Topics: []string{"t"}}}, "a pipeline and a name"},
		{"twice", []Stage{ok, ok}, "given twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(Config{Stages: tc.stages}, Deps{Kafka: []kgo.Opt{kgo.SeedBrokers("127.0.0.1:1")}})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

type bucketWant struct {
	lag    int64
	oldest float64
	rate   float64
	drain  *float64
}

func ptr(f float64) *float64 { return &f }

// wantBuckets checks a stage's buckets, in topic and partition order, and
// that each is owned by whom the group's own members say.
func wantBuckets(t *testing.T, s ration.StageBuckets, owners map[tp]string, want map[tp]bucketWant) {
	t.Helper()
	if len(s.Buckets) != len(want) {
		t.Fatalf("%s: %d buckets, want %d: %+v", s.Name, len(s.Buckets), len(want), s.Buckets)
	}
	for i, b := range s.Buckets {
		k := tp{b.Topic, b.Partition}
		w, ok := want[k]
		if !ok {
			t.Fatalf("%s: unexpected bucket %s/%d", s.Name, b.Topic, b.Partition)
		}
		if i > 0 {
			p := s.Buckets[i-1]
			if (p.Topic == b.Topic && p.Partition >= b.Partition) || (p.Topic != b.Topic && b.Topic == high) {
				t.Fatalf("%s: buckets out of order: %+v", s.Name, s.Buckets)
			}
		}
		drainOK := (w.drain == nil) == (b.DrainSeconds == nil) && (w.drain == nil || *w.drain == *b.DrainSeconds)
		if b.Owner != owners[k] || b.Lag != w.lag || b.OldestWaitingSeconds != w.oldest || b.RecordsPerSecond != w.rate || !drainOK {
			t.Errorf("%s: bucket %s/%d: owner %q lag %d oldest %v rate %v drain %v; want owner %q lag %d oldest %v rate %v drain %v",
				s.Name, b.Topic, b.Partition, b.Owner, b.Lag, b.OldestWaitingSeconds, b.RecordsPerSecond, b.DrainSeconds,
				owners[k], w.lag, w.oldest, w.rate, w.drain)
		}
	}
}

// wantMetrics checks the gauges in want and that every bucket of stage
// check has exactly its owner's info series.
func wantMetrics(t *testing.T, reg *prometheus.Registry, owners map[tp]string, want map[string]float64) {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	var ownerSeries []string
	for _, f := range families {
		for _, m := range f.GetMetric() {
			key := f.GetName() + labels(m)
			switch {
			case m.GetGauge() != nil:
				got[key] = m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				got[key] = m.GetCounter().GetValue()
			}
			if f.GetName() == "ration_bucket_owner_info" {
				ownerSeries = append(ownerSeries, key)
			}
		}
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	var wantOwners []string
	for b, o := range owners {
		wantOwners = append(wantOwners, fmt.Sprintf(`ration_bucket_owner_info{owner=%q,partition="%d",pipeline="dm",stage="check",topic=%q}`, o, b.partition, b.topic))
	}
	sort.Strings(ownerSeries)
	sort.Strings(wantOwners)
	if strings.Join(ownerSeries, "\n") != strings.Join(wantOwners, "\n") {
		t.Errorf("owner series:\n%s\nwant:\n%s", strings.Join(ownerSeries, "\n"), strings.Join(wantOwners, "\n"))
	}
}

func labels(m *dto.Metric) string {
	if len(m.GetLabel()) == 0 {
		return ""
	}
	var parts []string
	for _, l := range m.GetLabel() {
		parts = append(parts, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// records are n records for one partition, a second apart from first.
func records(topic string, partition int32, n int, first time.Time) []*kgo.Record {
	rs := make([]*kgo.Record, n)
	for i := range rs {
		rs[i] = &kgo.Record{Topic: topic, Partition: partition, Key: []byte(fmt.Sprint(i)), Value: []byte("x"),
			Timestamp: first.Add(time.Duration(i) * time.Second)}
	}
	return rs
}

// produce writes rs to the partitions they name, in one transaction if
// txnID is not empty.
func produce(t *testing.T, k *kafkatest.Kafka, txnID string, rs ...*kgo.Record) {
	t.Helper()
	opts := []kgo.Opt{kgo.SeedBrokers(k.Addrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner())}
	if txnID != "" {
		opts = append(opts, kgo.TransactionalID(txnID))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	if txnID != "" {
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
	}
	if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if txnID != "" {
		if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
			t.Fatal(err)
		}
	}
}

// group is consumer-group members that own partitions and commit for them,
// as workers do, but never process anything.
type group struct {
	mu      sync.Mutex
	members map[string]*kgo.Client
	owned   map[string]map[tp]bool // by instance id
	changed chan struct{}
}

// joinGroup starts one static member per instance id and waits until the
// group has handed every partition of topics to exactly one of them, and
// each got some.
func joinGroup(t *testing.T, k *kafkatest.Kafka, name string, topics []string, ids ...string) *group {
	t.Helper()
	g := &group{members: map[string]*kgo.Client{}, owned: map[string]map[tp]bool{}, changed: make(chan struct{}, 1)}
	// Every member's map exists before any member starts: a callback of
	// an earlier member reads g.owned while the loop goes on.
	for _, id := range ids {
		g.owned[id] = map[tp]bool{}
	}
	for _, id := range ids {
		update := func(parts map[string][]int32, own bool) {
			g.mu.Lock()
			for topic, ps := range parts {
				for _, p := range ps {
					if own {
						g.owned[id][tp{topic, p}] = true
					} else {
						delete(g.owned[id], tp{topic, p})
					}
				}
			}
			g.mu.Unlock()
			select {
			case g.changed <- struct{}{}:
			default:
			}
		}
		cl, err := kgo.NewClient(kgo.SeedBrokers(k.Addrs()...), kgo.ConsumerGroup(name), kgo.ConsumeTopics(topics...),
			kgo.InstanceID(id), kgo.SessionTimeout(10*time.Second), kgo.DisableAutoCommit(),
			kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, p map[string][]int32) { update(p, true) }),
			kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, p map[string][]int32) { update(p, false) }),
			kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, p map[string][]int32) { update(p, false) }))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		g.members[id] = cl
	}
	want := 0
	for range topics {
		want += 2 // kafkatest.New(t, 2, kafkatest.Setup{Topics: []kafkaconn.TopicSpec{{Name: high}, {Name: normal}}})
	}
	timeout := time.After(20 * time.Second)
	for !g.settled(want) {
		select {
		case <-g.changed:
		case <-timeout:
			t.Fatalf("group %s never settled: %v", name, g.owners())
		}
	}
	return g
}

func (g *group) settled(partitions int) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	seen := map[tp]bool{}
	for _, owned := range g.owned {
		if len(owned) == 0 {
			return false
		}
		for k := range owned {
			if seen[k] {
				return false
			}
			seen[k] = true
		}
	}
	return len(seen) == partitions
}

func (g *group) owners() map[tp]string {
	g.mu.Lock()
	defer g.mu.Unlock()
	m := map[tp]string{}
	for id, owned := range g.owned {
		for k := range owned {
			m[k] = id
		}
	}
	return m
}

// commit commits each offset through the member that owns its partition.
func (g *group) commit(t *testing.T, offsets map[tp]int64) {
	t.Helper()
	owners := g.owners()
	by := map[string]map[string]map[int32]kgo.EpochOffset{}
	for k, o := range offsets {
		id := owners[k]
		if by[id] == nil {
			by[id] = map[string]map[int32]kgo.EpochOffset{}
		}
		if by[id][k.topic] == nil {
			by[id][k.topic] = map[int32]kgo.EpochOffset{}
		}
		by[id][k.topic][k.partition] = kgo.EpochOffset{Epoch: -1, Offset: o}
	}
	for id, offs := range by {
		var cerr error
		g.members[id].CommitOffsetsSync(context.Background(), offs, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
			cerr = err
			for _, rt := range resp.Topics {
				for _, rp := range rt.Partitions {
					if rp.ErrorCode != 0 && cerr == nil {
						cerr = fmt.Errorf("%s/%d: error code %d", rt.Topic, rp.Partition, rp.ErrorCode)
					}
				}
			}
		})
		if cerr != nil {
			t.Fatalf("commit by %s: %v", id, cerr)
		}
	}
}
