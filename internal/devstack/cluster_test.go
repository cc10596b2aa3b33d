package devstack

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/internal/chserver/chtest"
	"github.com/rationhq/ration/pipeline"
	"github.com/rationhq/ration/pipelines"
	"github.com/rationhq/ration/sink"
)

// TestFlowsOnAClickHouseCluster (RC-10, RC-11): the dev stack on a
// ClickHouse cluster of 2 shards x 2 replicas (--clickhouse-cluster):
// DM checks and receipts end to end, the first replica of each shard —
// the one that takes the writes — killed with SIGKILL mid-run and started
// again; every answer counts each user and receipt once.
func TestFlowsOnAClickHouseCluster(t *testing.T) {
	c := chtest.StartCluster(t)
	s := startStackWith(t, t.TempDir(), func(cfg *Config) {
		cfg.ClickHouse = c.Addrs()
		cfg.Sink.Cluster = c.Name
	})
	ctx := context.Background()

	all := ids("user", 0, 4_000)
	if n, err := s.api.RegisterUsers(ctx, all); err != nil || n != len(all) {
		t.Fatalf("register: %d, %v", n, err)
	}
	if n, err := s.api.Mark(ctx, all[:2000], "normal"); err != nil || n != 2000 {
		t.Fatalf("mark: %d, %v", n, err)
	}
	names := s.putSampleTypes(t)
	receipts := s.submitSamples(t, names)

	// The replicas that take the writes die mid-run, and come back.
	for _, shard := range c.Servers {
		if err := shard[0].Kill(); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.api.Mark(ctx, all[2000:3000], "high"); err != nil || n != 1000 {
		t.Fatalf("mark with a replica of each shard down: %d, %v", n, err)
	}
	for _, shard := range c.Servers {
		if err := shard[0].Restart(ctx); err != nil {
			t.Fatal(err)
		}
	}

	await(t, 2*time.Minute, "3 000 users checked", func() (bool, string) {
		st, err := s.api.Stats(ctx)
		if err != nil {
			return false, err.Error()
		}
		return st.Checked == 3000 && st.Pending == 0 && st.Unmarked == 1000, fmt.Sprintf("%+v", st)
	})
	// The states' table is another topic, which the sink may store a flush
	// after the counts.
	await(t, 30*time.Second, "the checked listing", func() (bool, string) {
		checked := listAll(t, s.api, ration.DMChecked, 700)
		return slices.Equal(checked, all[:3000]), fmt.Sprintf("%d users, want the 3000 marked, each once, in order", len(checked))
	})
	s.awaitReceipts(t, receipts, "every sample accepted", ration.ReceiptAccepted)

	// Exactly once in the tables too, read through the Distributed ones.
	reader, err := sink.OpenReader(ctx, sink.Target{ClickHouse: c.Addrs(), Database: "ration", Cluster: c.Name},
		pipeline.SinkLayout(pipelines.All()).Migrations...)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	// A replica just started again can answer before it has fetched what
	// the other took while it was down (its replication queue is not
	// loaded yet, so it reports no delay): a count may come up short for
	// a moment, never long, and never over.
	await(t, time.Minute, "each user's result stored once", func() (bool, string) {
		var rows, users uint64
		if err := reader.Conn().QueryRow(ctx, "SELECT count(), uniqExact(user_id) FROM (SELECT user_id FROM ration.dm_user_log "+
			"WHERE kind = 'result' LIMIT 1 BY user_id, src)").Scan(&rows, &users); err != nil {
			return false, err.Error()
		}
		if rows > 3000 || rows != users {
			t.Fatalf("%d result rows for %d users, want 3000 for 3000", rows, users)
		}
		return rows == 3000, fmt.Sprintf("%d result rows for %d users", rows, users)
	})
}
