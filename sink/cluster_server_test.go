package sink

import (
	"context"
	"testing"
	"time"

	"github.com/rationhq/ration/internal/chserver/chtest"
)

// TestMigrateOnACluster: on 2 shards x 2 replicas, the migrations create
// every table on every server, once; rows written through a Distributed
// table land on their key's shard, on both of its replicas; and a second
// Migrate, from another server, finds everything applied.
func TestMigrateOnACluster(t *testing.T) {
	c := chtest.StartCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	target := Target{ClickHouse: c.Addrs(), Database: "ration", Cluster: c.Name}
	conn, err := Open(ctx, target, thingMigrations)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO events (pipeline, item_id, event_id, stage, status, time_ms)")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		if err := batch.Append("p", "item-"+string(rune('a'+i%26))+string(rune('a'+i/26)), "e", "s", "SUCCESS", uint64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := batch.Send(); err != nil {
		t.Fatal(err)
	}
	var total uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM events").Scan(&total); err != nil || total != 100 {
		t.Fatalf("count through the Distributed table right after the insert: %d, %v", total, err)
	}
	// Each shard holds part of the rows, and both its replicas the same part.
	var sum uint64
	for s, shard := range c.Servers {
		var counts []uint64
		for _, srv := range shard {
			one, err := Open(ctx, Target{ClickHouse: srv.Addr(), Database: "ration", Cluster: c.Name}, thingMigrations)
			if err != nil {
				t.Fatal(err)
			}
			var n uint64
			deadline := time.Now().Add(30 * time.Second)
			for {
				if err := one.QueryRow(ctx, "SELECT count() FROM events_local").Scan(&n); err != nil {
					t.Fatal(err)
				}
				if len(counts) == 0 || n == counts[0] || time.Now().After(deadline) {
					break
				}
				time.Sleep(100 * time.Millisecond) // replication announces nothing
			}
			one.Close()
			counts = append(counts, n)
		}
		if counts[0] == 0 || counts[0] != counts[1] {
			t.Fatalf("shard %d: replicas hold %v rows, want the same, some", s+1, counts)
		}
		sum += counts[0]
	}
	if sum != 100 {
		t.Fatalf("the shards hold %d rows, want 100", sum)
	}
}
