package sink

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEveryMigrationHasAClusterForm: every statement of the shared and
// the pipelines' migrations rewrites for a cluster, tables into a
// replicated local table and a Distributed one sharded by their key.
func TestEveryMigrationHasAClusterForm(t *testing.T) {
	sets := map[string][]migration{}
	shared, err := sharedMigrations()
	if err != nil {
		t.Fatal(err)
	}
	sets["shared"] = shared
	dirs, _ := filepath.Glob("../pipelines/*/migrations")
	if len(dirs) < 3 {
		t.Fatalf("pipelines' migrations: %v", dirs)
	}
	for _, d := range dirs {
		ms, err := readMigrations(os.DirFS(d))
		if err != nil {
			t.Fatal(err)
		}
		sets[d] = ms
	}
	tables := 0
	for set, ms := range sets {
		for _, m := range ms {
			for _, stmt := range m.statements {
				out, err := onCluster(stmt, "ration", "c")
				if err != nil {
					t.Errorf("%s %04d: %v", set, m.version, err)
					continue
				}
				for _, o := range out {
					if !strings.Contains(o, " ON CLUSTER c") && !backfill.MatchString(o) {
						t.Errorf("%s %04d: not on the cluster: %s", set, m.version, o)
					}
				}
				if len(out) == 2 {
					tables++
				}
			}
		}
	}
	if tables < 15 {
		t.Errorf("%d tables rewritten, want every table of the migrations", tables)
	}
}

func TestOnCluster(t *testing.T) {
	for _, tc := range []struct {
		name, stmt string
		want       []string
	}{
		{"sharded by the first ORDER BY column, engine arguments kept",
			"CREATE TABLE IF NOT EXISTS {db}.receipts (\n    client String,\n    version UInt64,\n    status Enum8('A' = 1)\n) ENGINE = ReplacingMergeTree(version)\nPARTITION BY toYYYYMM(d)\nORDER BY (client, id)",
			[]string{
				"CREATE TABLE IF NOT EXISTS {db}.receipts_local ON CLUSTER c (\n    client String,\n    version UInt64,\n    status Enum8('A' = 1)\n) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/ration/receipts', '{replica}', version)\nPARTITION BY toYYYYMM(d)\nORDER BY (client, id)",
				"CREATE TABLE IF NOT EXISTS {db}.receipts ON CLUSTER c AS {db}.receipts_local ENGINE = Distributed(c, ration, receipts_local, cityHash64(client))",
			}},
		{"sharded as its comment says, an engine without arguments",
			"CREATE TABLE IF NOT EXISTS {db}.events (\n    /* shard by: cityHash64(pipeline, item_id) */\n    pipeline String\n) ENGINE = ReplacingMergeTree ORDER BY (pipeline, item_id)",
			[]string{
				"CREATE TABLE IF NOT EXISTS {db}.events_local ON CLUSTER c (\n    /* shard by: cityHash64(pipeline, item_id) */\n    pipeline String\n) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/ration/events', '{replica}') ORDER BY (pipeline, item_id)",
				"CREATE TABLE IF NOT EXISTS {db}.events ON CLUSTER c AS {db}.events_local ENGINE = Distributed(c, ration, events_local, cityHash64(pipeline, item_id))",
			}},
		{"a view", "CREATE VIEW IF NOT EXISTS {db}.item_status AS\nSELECT 1", []string{"CREATE VIEW IF NOT EXISTS {db}.item_status ON CLUSTER c AS\nSELECT 1"}},
		{"a drop", "DROP TABLE IF EXISTS {db}.item_status", []string{"DROP TABLE IF EXISTS {db}.item_status ON CLUSTER c"}},
		{"a backfill, once through the Distributed tables", "INSERT INTO {db}.t (a, b)\nSELECT a, b FROM {db}.u GROUP BY a, b",
			[]string{"INSERT INTO {db}.t (a, b)\nSELECT a, b FROM {db}.u GROUP BY a, b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := onCluster(tc.stmt, "ration", "c")
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, "\n;\n") != strings.Join(tc.want, "\n;\n") {
				t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n;\n"), strings.Join(tc.want, "\n;\n"))
			}
		})
	}
	if _, err := onCluster("ALTER TABLE {db}.t ADD COLUMN x UInt8", "ration", "c"); err == nil {
		t.Error("an ALTER was taken without a cluster form")
	}
}
