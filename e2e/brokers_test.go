package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/broker"
	"github.com/rationhq/ration/broker/brokertest"
	"github.com/rationhq/ration/internal/roles"
	"github.com/rationhq/ration/pipeline"
	"github.com/rationhq/ration/pipelines/dm"
	"github.com/rationhq/ration/processor"
)

// TestThreeBrokers: on three embedded brokers, ration's topics are
// created with replication factor 3 and min.insync.replicas 2, their
// leaders spread over the brokers, and two DM workers check 3 000 users,
// each exactly once, talking to every broker (the group and transaction
// coordinators on one, partition leaders on all).
//
// Leaders do not move here: kfake loses exactly-once when they do — a
// plain franz-go GroupTransactSession copying 3 000 records under
// ShufflePartitionLeaders every 100 ms committed 42 904, and even one move
// between two halves of this test, with the workers idle, made 4 741
// results of 3 000 — which real Kafka does not (leader moves are part of
// its own transaction system tests). docs/DESIGN.md says so.
func TestThreeBrokers(t *testing.T) {
	const users = 3_000
	b := brokertest.Start(t, broker.Config{Brokers: 3, Partitions: 6, NoAuth: true})
	conn := b.KafkaConn()
	if len(conn.Brokers) != 3 {
		t.Fatalf("seed brokers %v, want 3", conn.Brokers)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	env, err := roles.NewEnv(ctx, conn, []pipeline.Descriptor{dm.New()}, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(conn.Opts(nil)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	details, err := adm.ListTopics(ctx, dm.TopicChecks)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range details[dm.TopicChecks].Partitions {
		if len(p.Replicas) != 3 {
			t.Fatalf("%s partition %d: replicas %v, want 3", dm.TopicChecks, p.Partition, p.Replicas)
		}
	}
	configs, err := adm.DescribeTopicConfigs(ctx, dm.TopicChecks)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := configs.On(dm.TopicChecks, nil); err != nil || minISR(c) != "2" {
		t.Fatalf("%s: min.insync.replicas %q (%v), want 2", dm.TopicChecks, minISR(c), err)
	}

	mark := func(from, to int) {
		t.Helper()
		var recs []*kgo.Record
		for i := from; i < to; i++ {
			id := fmt.Sprintf("lead%05d", i)
			v, err := env.Codec.Encode(&dm.Mark{UserID: id, Priority: dm.PriorityNormal, MarkedAt: time.Now()})
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, &kgo.Record{Topic: dm.TopicChecks, Key: []byte(id), Value: v})
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	mark(0, users/2)

	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 4)
	running := 0
	for i := range 2 {
		tuning := processor.DefaultTuning()
		tuning.InstanceID = fmt.Sprintf("lead-%d", i)
		tuning.SessionTimeout = 3 * time.Second
		ws, err := env.Workers(dm.Name, []string{dm.StageCheck}, tuning)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range ws {
			running++
			go func() { done <- w.Run(wctx) }()
		}
	}
	defer func() {
		stop()
		for range running {
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
	}()
	results, err := kgo.NewClient(append(conn.Opts(nil), kgo.ConsumeTopics(dm.TopicResults),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer results.Close()
	seen := map[string]int{}
	total := 0
	readUntil := func(n int) {
		t.Helper()
		for len(seen) < n {
			fs := results.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("%d of %d users checked", len(seen), n)
			}
			fs.EachRecord(func(r *kgo.Record) {
				var res dm.Result
				if err := env.Codec.Decode(r.Value, &res); err != nil {
					t.Fatal(err)
				}
				seen[res.UserID]++
				total++
			})
		}
	}
	leaders := map[int32]bool{}
	for p := range int32(6) {
		leaders[b.Cluster().LeaderFor(dm.TopicChecks, p)] = true
	}
	if len(leaders) < 2 {
		t.Fatalf("the partitions' leaders are on %d broker(s), want them spread", len(leaders))
	}
	mark(users/2, users)
	readUntil(users)
	if total != users {
		t.Fatalf("%d results for %d users: some user checked twice", total, users)
	}
}

func minISR(c kadm.ResourceConfig) string {
	for _, kv := range c.Configs {
		if kv.Key == "min.insync.replicas" && kv.Value != nil {
			return *kv.Value
		}
	}
	return ""
}
