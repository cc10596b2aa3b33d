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
// statement must be idempotent (CREATE ... IF NOT EXISTS, ADD COLUMN IF NOT
// EXISTS): two processes starting together may both apply a migration.
// Statements end with ";" at the end of a line, "--" starts a comment (so
// no string literal may contain "--"), and {db} stands for the database.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

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

// migrations returns the embedded migrations in order.
func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
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
		text, err := migrationFiles.ReadFile("migrations/" + e.Name())
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

// quoteDB returns db as a quoted identifier, refusing names that would need
// escaping: the name comes from flags and is spliced into DDL.
func quoteDB(db string) (string, error) {
	if !dbName.MatchString(db) {
		return "", fmt.Errorf("database name %q: want letters, digits and _", db)
	}
	return "`" + db + "`", nil
}

// Migrate creates database db if missing and applies the migrations not yet
// recorded in db.schema_migrations. It is safe to run again and from two
// processes at once.
func Migrate(ctx context.Context, conn driver.Conn, db string) error {
	q, err := quoteDB(db)
	if err != nil {
		return err
	}
	ms, err := migrations()
	if err != nil {
		return err
	}
	if err := conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+q); err != nil {
		return fmt.Errorf("create database %s: %w", db, err)
	}
	// ReplacingMergeTree: two processes racing record a version twice, and
	// the duplicate collapses.
	if err := conn.Exec(ctx, "CREATE TABLE IF NOT EXISTS "+q+".schema_migrations "+
		"(version UInt32, name String, applied_at DateTime) ENGINE = ReplacingMergeTree ORDER BY version"); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	applied, err := appliedVersions(ctx, conn, q)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if applied[m.version] {
			continue
		}
		for _, stmt := range m.statements {
			if err := conn.Exec(ctx, strings.ReplaceAll(stmt, "{db}", q)); err != nil {
				return fmt.Errorf("migration %04d_%s: %w", m.version, m.name, err)
			}
		}
		batch, err := conn.PrepareBatch(ctx, "INSERT INTO "+q+".schema_migrations (version, name, applied_at)")
		if err != nil {
			return fmt.Errorf("record migration %04d: %w", m.version, err)
		}
		if err := batch.Append(m.version, m.name, time.Now()); err != nil {
			_ = batch.Abort()
			return fmt.Errorf("record migration %04d: %w", m.version, err)
		}
		if err := batch.Send(); err != nil {
			return fmt.Errorf("record migration %04d: %w", m.version, err)
		}
	}
	return nil
}

func appliedVersions(ctx context.Context, conn driver.Conn, q string) (map[uint32]bool, error) {
	rows, err := conn.Query(ctx, "SELECT DISTINCT version FROM "+q+".schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	defer rows.Close()
	applied := make(map[uint32]bool)
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("read schema_migrations: %w", err)
		}
		applied[v] = true
	}
	return applied, rows.Err()
}
