// Package receiptsamples ships the sample receipt types and receipts (one
// of each type in JSON and in XML) and the analysts' queries of
// docs/analytics.md with every ration binary, for `ration bench receipts`,
// the tests and people to start from: types/NAME.json, samples/NAME.json,
// samples/NAME.xml, analytics/NAME.sql.
package receiptsamples

import (
	"embed"
	"io/fs"
	"strings"
)

//go:embed types/*.json samples/*.json samples/*.xml analytics/*.sql
var files embed.FS

// FS holds the samples.
var FS fs.FS = files

// Type returns the sample type document called name.
func Type(name string) ([]byte, error) { return fs.ReadFile(files, "types/"+name+".json") }

// Query returns the analysts' query called name with its database (and,
// for a query of one client, its client) filled in: {db} and {client} in
// the file.
func Query(name, db, client string) (string, error) {
	b, err := fs.ReadFile(files, "analytics/"+name+".sql")
	if err != nil {
		return "", err
	}
	q := strings.ReplaceAll(string(b), "{db}", db)
	return strings.ReplaceAll(q, "{client}", quote(client)), nil
}

// quote is s as a ClickHouse string literal.
func quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
