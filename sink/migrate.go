package sink

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// The migrations are applied in file name order (NNNN_name.sql). Every
// statement must be idempotent (CREATE ... IF NOT EXISTS; 18.16 has no
// ADD COLUMN IF NOT EXISTS, so a new column comes as a new table or view):
// two processes starting together may both apply a migration.
// Statements end with ";" at the end of a line, "--" starts a comment (so
// no string literal may contain "--"), and {db} stands for the database.
// The shared tables' migrations are embedded here; each pipeline brings
// its own (Migrations), applied after them in the same way.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations are one pipeline's ClickHouse DDL: NNNN_name.sql files at the
// root of FS, applied in order and recorded under Owner in
// pipeline_migrations.
type Migrations struct {
	Owner string
	FS    fs.FS
}

type migration struct {
	version    uint32
	name       string
	statements []string
}

var (
	migrationName = regexp.MustCompile(`^(\d{4})_([a-z0-9_]+)\.sql$`)
	sqlComment    = regexp.MustCompile(`(?m)\s*--.*$`)
	dbName        = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
)

// sharedMigrations returns the embedded migrations in order.
func sharedMigrations() ([]migration, error) {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	return readMigrations(sub)
}

// readMigrations reads the NNNN_name.sql files at the root of fsys, in
// order.
func readMigrations(fsys fs.FS) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("migration %s: name is not NNNN_name.sql", e.Name())
		}
		v, _ := strconv.ParseUint(m[1], 10, 32)
		text, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, err
		}
		mig := migration{version: uint32(v), name: m[2]}
		for _, stmt := range strings.Split(sqlComment.ReplaceAllString(string(text), ""), ";\n") {
			if stmt = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(stmt), ";")); stmt != "" {
				mig.statements = append(mig.statements, stmt)
			}
		}
		ms = append(ms, mig)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("migrations %s and %s share version %d", ms[i-1].name, ms[i].name, ms[i].version)
		}
	}
	return ms, nil
}

// QuoteDB returns db as a quoted identifier, refusing names that would need
// escaping: the name comes from flags and is spliced into SQL.
func QuoteDB(db string) (string, error) {
	if !dbName.MatchString(db) {
		return "", fmt.Errorf("database name %q: want letters, digits and _", db)
	}
	return "`" + db + "`", nil
}

// Migrate creates t's database if missing and applies the migrations not
// yet recorded: the shared tables' (recorded in schema_migrations), then
// each of pipelines' (recorded in pipeline_migrations). It is safe to run
// again and from two processes at once. With t.Cluster, every statement
// runs ON CLUSTER in its cluster form (onCluster), so a migration is
// applied once for the whole cluster.
func Migrate(ctx context.Context, conn driver.Conn, t Target, pipelines ...Migrations) error {
	q, err := QuoteDB(t.Database)
	if err != nil {
		return err
	}
	ms, err := sharedMigrations()
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, p := range pipelines {
		if p.Owner == "" || seen[p.Owner] {
			return fmt.Errorf("migrations: owner %q empty or given twice", p.Owner)
		}
		seen[p.Owner] = true
	}
	m := migrator{conn: conn, q: q, t: t}
	createDB := "CREATE DATABASE IF NOT EXISTS " + q
	if t.Cluster != "" {
		createDB += " ON CLUSTER " + t.Cluster
	}
	if err := conn.Exec(ctx, createDB); err != nil {
		return fmt.Errorf("create database %s: %w", t.Database, err)
	}
	// ReplacingMergeTree: two processes racing record a version twice, and
	// the duplicate collapses.
	if err := m.exec(ctx, "CREATE TABLE IF NOT EXISTS {db}.schema_migrations "+
		"(version UInt32, name String, applied_at DateTime) ENGINE = ReplacingMergeTree ORDER BY version"); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	if err := m.apply(ctx, "", ms); err != nil {
		return err
	}
	if len(pipelines) == 0 {
		return nil
	}
	if err := m.exec(ctx, "CREATE TABLE IF NOT EXISTS {db}.pipeline_migrations "+
		"(pipeline String, version UInt32, name String, applied_at DateTime) ENGINE = ReplacingMergeTree ORDER BY (pipeline, version)"); err != nil {
		return fmt.Errorf("create pipeline_migrations: %w", err)
	}
	for _, p := range pipelines {
		ms, err := readMigrations(p.FS)
		if err != nil {
			return fmt.Errorf("migrations of %s: %w", p.Owner, err)
		}
		if err := m.apply(ctx, p.Owner, ms); err != nil {
			return fmt.Errorf("%s: %w", p.Owner, err)
		}
	}
	return nil
}

// migrator runs DDL on one server or, in cluster mode, on a cluster.
type migrator struct {
	conn driver.Conn
	q    string // the database, quoted
	t    Target
}

// exec runs stmt ({db} standing for the database) in the target's form.
func (m migrator) exec(ctx context.Context, stmt string) error {
	stmts := []string{stmt}
	if m.t.Cluster != "" {
		var err error
		if stmts, err = onCluster(stmt, m.t.Database, m.t.Cluster); err != nil {
			return err
		}
	}
	for _, s := range stmts {
		if err := m.conn.Exec(ctx, strings.ReplaceAll(s, "{db}", m.q)); err != nil {
			return err
		}
	}
	return nil
}

// apply runs the migrations of owner ("" for the shared tables) that are
// not recorded yet, recording each after its statements ran.
func (m migrator) apply(ctx context.Context, owner string, ms []migration) error {
	q := m.q
	applied, err := appliedVersions(ctx, m.conn, q, owner)
	if err != nil {
		return err
	}
	for _, mig := range ms {
		if applied[mig.version] {
			continue
		}
		for _, stmt := range mig.statements {
			if err := m.exec(ctx, stmt); err != nil {
				return fmt.Errorf("migration %04d_%s: %w", mig.version, mig.name, err)
			}
		}
		insert, args := "INSERT INTO "+q+".schema_migrations (version, name, applied_at)", []any{mig.version, mig.name, time.Now()}
		if owner != "" {
			insert, args = "INSERT INTO "+q+".pipeline_migrations (pipeline, version, name, applied_at)", append([]any{owner}, args...)
		}
		batch, err := m.conn.PrepareBatch(ctx, insert)
		if err != nil {
			return fmt.Errorf("record migration %04d: %w", mig.version, err)
		}
		if err := batch.Append(args...); err != nil {
			_ = batch.Abort()
			return fmt.Errorf("record migration %04d: %w", mig.version, err)
		}
		if err := batch.Send(); err != nil {
			return fmt.Errorf("record migration %04d: %w", mig.version, err)
		}
	}
	return nil
}

func appliedVersions(ctx context.Context, conn driver.Conn, q, owner string) (map[uint32]bool, error) {
	query, args := "SELECT DISTINCT version FROM "+q+".schema_migrations", []any(nil)
	if owner != "" {
		query, args = "SELECT DISTINCT version FROM "+q+".pipeline_migrations WHERE pipeline = ?", []any{owner}
	}
	rows, err := conn.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read applied migrations: %w", err)
	}
	defer rows.Close()
	applied := make(map[uint32]bool)
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("read applied migrations: %w", err)
		}
		applied[v] = true
	}
	return applied, rows.Err()
}
