package sink

import (
	"fmt"
	"regexp"
	"strings"
)

// In cluster mode (Target.Cluster) the migrations' single-server DDL is
// rewritten, statement by statement, so that one set of files serves
// both:
//
//   - CREATE TABLE t (...) ENGINE = XMergeTree(args) ... becomes t_local,
//     created ON CLUSTER as ReplicatedXMergeTree (its replicas share a
//     ZooKeeper path per shard), and t, created ON CLUSTER as a Distributed
//     table over t_local. Writers and readers keep naming t. Rows are
//     sharded by the table's /* shard by: EXPR */ comment, or else by the
//     first column of its ORDER BY: every row of one key (a replay, a later
//     version) lands on one shard, so ReplacingMergeTree folds them and
//     argMax, LIMIT 1 BY and GROUP BY per key answer as on one server.
//   - CREATE VIEW and DROP TABLE run ON CLUSTER; a view over t reads the
//     Distributed table.
//   - INSERT INTO t (...) SELECT ... FROM u (a backfill of a new table)
//     runs once, as it is: it reads u's Distributed table and writes t's,
//     which sends each row to its shard.
//
// Any other statement is refused in cluster mode, so a new kind of DDL is
// made to work on a cluster before it ships.

var (
	createTable = regexp.MustCompile(`(?s)^CREATE TABLE IF NOT EXISTS (\{db\}\.(\w+)) \((.*)\) ENGINE = (\w*MergeTree)(?:\(([^)]*)\))?(.*)$`)
	createView  = regexp.MustCompile(`(?s)^CREATE VIEW IF NOT EXISTS (\{db\}\.\w+) (AS\s.*)$`)
	dropTable   = regexp.MustCompile(`^DROP TABLE IF EXISTS (\{db\}\.\w+)$`)
	backfill    = regexp.MustCompile(`(?s)^INSERT INTO \{db\}\.\w+ \([^)]*\)\s+SELECT\s.*\sFROM \{db\}\.\w+`)
	shardBy     = regexp.MustCompile(`/\*\s*shard by:\s*(.+?)\s*\*/`)
	orderBy     = regexp.MustCompile(`(?s)ORDER BY \(?\s*([A-Za-z_]\w*)`)
)

// localSuffix names a table's shard-local part in cluster mode.
const localSuffix = "_local"

// onCluster returns statement stmt (with {db} still in it) as it runs on
// cluster, for database db.
func onCluster(stmt, db, cluster string) ([]string, error) {
	on := " ON CLUSTER " + cluster
	if m := createTable.FindStringSubmatch(stmt); m != nil {
		full, name, columns, engine, args, rest := m[1], m[2], m[3], m[4], m[5], m[6]
		key := ""
		if s := shardBy.FindStringSubmatch(stmt); s != nil {
			key = s[1]
		} else if o := orderBy.FindStringSubmatch(rest); o != nil {
			key = "cityHash64(" + o[1] + ")"
		} else {
			return nil, fmt.Errorf("table %s: no ORDER BY and no /* shard by: */ to shard it by", name)
		}
		replicated := "Replicated" + engine + "('/clickhouse/tables/{shard}/" + db + "/" + name + "', '{replica}'"
		if strings.TrimSpace(args) != "" {
			replicated += ", " + args
		}
		replicated += ")"
		return []string{
			"CREATE TABLE IF NOT EXISTS " + full + localSuffix + on + " (" + columns + ") ENGINE = " + replicated + rest,
			"CREATE TABLE IF NOT EXISTS " + full + on + " AS " + full + localSuffix +
				" ENGINE = Distributed(" + cluster + ", " + db + ", " + name + localSuffix + ", " + key + ")",
		}, nil
	}
	if m := createView.FindStringSubmatch(stmt); m != nil {
		return []string{"CREATE VIEW IF NOT EXISTS " + m[1] + on + " " + m[2]}, nil
	}
	if m := dropTable.FindStringSubmatch(stmt); m != nil {
		return []string{"DROP TABLE IF EXISTS " + m[1] + on}, nil
	}
	if backfill.MatchString(stmt) {
		return []string{stmt}, nil
	}
	first, _, _ := strings.Cut(stmt, "\n")
	return nil, fmt.Errorf("no cluster form of %q", first)
}
