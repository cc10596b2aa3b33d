package sink

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/spf13/pflag"
)

// Target is the ClickHouse ration writes to and reads from.
type Target struct {
	// ClickHouse is a server's native protocol address, host:port, or
	// several, comma-separated: servers to fail over between (the
	// replicas of a cluster, say). Default 127.0.0.1:9000.
	ClickHouse string
	// Database holds ration's tables; it is created if missing. Default
	// "ration".
	Database string
	// User and Password log in; default "default" with no password (the
	// embedded server's).
	User, Password string
	// Cluster, if set, is a cluster of the servers' remote_servers: every
	// table is created on every server of it, replicated within each
	// shard, and read and written through a Distributed table of the
	// table's own name (see Migrate). Empty: a single server.
	Cluster string
}

// DefaultTarget returns the defaults, for binding flags.
func DefaultTarget() Target { return Target{ClickHouse: "127.0.0.1:9000", Database: "ration"} }

// Flags binds t to --clickhouse, --clickhouse-db, --clickhouse-user,
// --clickhouse-password and --clickhouse-cluster, with t's values as
// defaults.
func (t *Target) Flags(fs *pflag.FlagSet) {
	fs.StringVar(&t.ClickHouse, "clickhouse", t.ClickHouse, "ClickHouse native protocol address host:port, or several comma-separated to fail over between")
	fs.StringVar(&t.Database, "clickhouse-db", t.Database, "ClickHouse database (created if missing)")
	fs.StringVar(&t.User, "clickhouse-user", t.User, `ClickHouse user ("": default)`)
	fs.StringVar(&t.Password, "clickhouse-password", t.Password, "ClickHouse password (prefer RATION_CLICKHOUSE_PASSWORD: flags show in ps)")
	fs.StringVar(&t.Cluster, "clickhouse-cluster", t.Cluster, "ClickHouse cluster (remote_servers) to create every table on, replicated and distributed (empty: one server)")
}

var clusterName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// Validate reports a target that cannot work.
func (t Target) Validate() error {
	var errs []error
	if len(t.addrs()) == 0 {
		errs = append(errs, errors.New("no ClickHouse address"))
	}
	if _, err := QuoteDB(t.Database); err != nil {
		errs = append(errs, err)
	}
	if t.Cluster != "" && !clusterName.MatchString(t.Cluster) {
		errs = append(errs, fmt.Errorf("cluster name %q: want letters, digits and _", t.Cluster))
	}
	return errors.Join(errs...)
}

// addrs are the servers' addresses.
func (t Target) addrs() []string {
	var out []string
	for _, a := range strings.Split(t.ClickHouse, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}
