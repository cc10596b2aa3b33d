package k8s

import (
	"fmt"
	"slices"
	"testing"
)

// The ClickHouseInstallation's fields the checks read.
type clickHouse struct {
	Metadata meta `json:"metadata"`
	Spec     struct {
		Configuration struct {
			Zookeeper struct {
				Nodes []struct {
					Host string `json:"host"`
					Port int    `json:"port"`
				} `json:"nodes"`
			} `json:"zookeeper"`
			Users    map[string]any `json:"users"`
			Profiles map[string]any `json:"profiles"`
			Clusters []struct {
				Name   string `json:"name"`
				Layout struct {
					ShardsCount   int `json:"shardsCount"`
					ReplicasCount int `json:"replicasCount"`
				} `json:"layout"`
			} `json:"clusters"`
		} `json:"configuration"`
	} `json:"spec"`
}

// checkClickHouse: the overlay's ClickHouse layout, Keeper as its
// ZooKeeper, ration in cluster mode on it, and the users ration and
// analyst.
func checkClickHouse(t *testing.T, b *build, o overlay) {
	chis := custom[clickHouse](t, b, "ClickHouseInstallation")
	if len(chis) != 1 || len(chis[0].Spec.Configuration.Clusters) != 1 {
		t.Fatalf("want one ClickHouseInstallation of one cluster")
	}
	chi, cluster := chis[0], chis[0].Spec.Configuration.Clusters[0]
	if l := cluster.Layout; l.ShardsCount != o.shards || l.ReplicasCount != o.replicas {
		t.Errorf("ClickHouse: %d shards x %d replicas, want %d x %d", l.ShardsCount, l.ReplicasCount, o.shards, o.replicas)
	}
	// ration in cluster mode on the installation's cluster, through the
	// operator's Service over every host (clickhouse-{chi}), with the
	// profile cluster mode needs (docs/DESIGN.md, "ClickHouse cluster").
	if got, want := configValue(t, b, "RATION_CLICKHOUSE"), "clickhouse-"+chi.Metadata.Name+":9000"; got != want {
		t.Errorf("RATION_CLICKHOUSE %s, want the installation's Service %s", got, want)
	}
	if got := configValue(t, b, "RATION_CLICKHOUSE_CLUSTER"); got != cluster.Name {
		t.Errorf("RATION_CLICKHOUSE_CLUSTER %q, the installation's cluster is %s", got, cluster.Name)
	}
	profile := fmt.Sprint(chi.Spec.Configuration.Users["ration/profile"])
	for setting, want := range map[string]string{"load_balancing": "in_order", "max_replica_delay_for_distributed_queries": "1"} {
		if got := fmt.Sprint(chi.Spec.Configuration.Profiles[profile+"/"+setting]); got != want {
			t.Errorf("ClickHouse profile %s of user ration: %s %s, cluster mode wants %s", profile, setting, got, want)
		}
	}
	var keepers []string
	for _, m := range custom[struct {
		Metadata meta `json:"metadata"`
	}](t, b, "ClickHouseKeeperInstallation") {
		keepers = append(keepers, "keeper-"+m.Metadata.Name) // the operator's Service keeper-{chk}
	}
	for _, n := range chi.Spec.Configuration.Zookeeper.Nodes {
		if !slices.Contains(keepers, n.Host) || n.Port != 2181 {
			t.Errorf("ClickHouse's keeper %s:%d is none of %v (port 2181)", n.Host, n.Port, keepers)
		}
	}
	for _, user := range []string{"ration", "analyst"} {
		if _, ok := chi.Spec.Configuration.Users[user+"/password"]; !ok {
			t.Errorf("ClickHouse user %s has no password", user)
		}
	}
	if p := chi.Spec.Configuration.Users["analyst/profile"]; p == "default" || p == nil {
		t.Errorf("ClickHouse user analyst has profile %v, want a read-only one", p)
	}
}
