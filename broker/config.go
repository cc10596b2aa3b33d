package broker

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/pflag"
)

// Config configures the embedded broker. The zero value is valid: every
// empty field takes its documented default.
type Config struct {
	// DataDir keeps Kafka's data and the listen ports across restarts.
	// Default "": everything lives in memory and is gone after Close.
	DataDir string

	// SyncWrites fsyncs every produced batch. Default false: like Kafka's
	// default, data is synced on segment roll and on Close, so a crash
	// (not a Close) can lose the last batches.
	SyncWrites bool

	// KafkaAddr is the Kafka listener's host:port. Default 127.0.0.1:9092.
	// Port 0 picks a free port; with a DataDir, the port picked the first
	// time is kept and reused on every restart. kfake advertises this
	// address to clients, so the host must be one they can dial (not
	// 0.0.0.0). Without authentication, keep it on loopback.
	KafkaAddr string

	// RegistryAddr is the schema registry's host:port. Default
	// 127.0.0.1:8081; port 0 behaves as for KafkaAddr.
	RegistryAddr string

	// Brokers is the number of brokers, each on its own port: the first
	// on KafkaAddr's, the others on free ports kept with a DataDir like
	// it. Partition leaders spread over them, so clients take the paths
	// of a real cluster (metadata, leaders that move). Default 1.
	Brokers int

	// Partitions is the partition count of topics created without one
	// (CreateTopics with -1 partitions). Default 12. Auto-creation of
	// topics on metadata requests stays off: roles create their topics.
	Partitions int32

	// MinSessionTimeout is the shortest group session a member may ask for
	// (group.min.session.timeout.ms). Default 1s, so tests can detect dead
	// members quickly; Kafka's own default is 6s.
	MinSessionTimeout time.Duration

	// NoAuth turns authentication and authorization off. Default false:
	// clients authenticate with SASL/SCRAM-SHA-512 and every request is
	// checked against ACLs; AdminUser is a superuser.
	NoAuth bool

	// AdminFile keeps the admin's credentials (JSON, mode 0600): created
	// with a random password on the first start, reused after. Default
	// DataDir/admin.kafka.json; without a DataDir the credentials live in
	// memory only and reach roles through KafkaConn.
	AdminFile string

	// Log receives the broker's logs; kfake's request-level chatter is
	// logged at debug. Default nil: silent.
	Log *slog.Logger
}

// Defaults used for empty Config fields.
const (
	DefaultKafkaAddr         = "127.0.0.1:9092"
	DefaultRegistryAddr      = "127.0.0.1:8081"
	DefaultPartitions        = 12
	DefaultMinSessionTimeout = time.Second
)

// DefaultConfig returns a Config with every default filled in, for binding
// flags whose help shows the defaults.
func DefaultConfig() Config {
	var c Config
	c.setDefaults()
	return c
}

func (c *Config) setDefaults() {
	if c.KafkaAddr == "" {
		c.KafkaAddr = DefaultKafkaAddr
	}
	if c.RegistryAddr == "" {
		c.RegistryAddr = DefaultRegistryAddr
	}
	if c.Partitions == 0 {
		c.Partitions = DefaultPartitions
	}
	if c.Brokers == 0 {
		c.Brokers = 1
	}
	if c.MinSessionTimeout == 0 {
		c.MinSessionTimeout = DefaultMinSessionTimeout
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.AdminFile == "" && c.DataDir != "" {
		c.AdminFile = filepath.Join(c.DataDir, AdminFileName)
	}
}

// Validate reports a config that cannot work. Empty fields are valid: they
// take their defaults.
func (c Config) Validate() error {
	c.setDefaults()
	var errs []error
	if _, _, err := splitListenAddr(c.KafkaAddr, true); err != nil {
		errs = append(errs, fmt.Errorf("kafka listen address: %w", err))
	}
	if _, _, err := splitListenAddr(c.RegistryAddr, false); err != nil {
		errs = append(errs, fmt.Errorf("registry listen address: %w", err))
	}
	if c.Partitions < 1 {
		errs = append(errs, fmt.Errorf("partitions %d < 1", c.Partitions))
	}
	if c.Brokers < 1 || c.Brokers > 9 {
		errs = append(errs, fmt.Errorf("brokers %d: want 1 to 9", c.Brokers))
	}
	if c.MinSessionTimeout < 0 {
		errs = append(errs, fmt.Errorf("min session timeout %v < 0", c.MinSessionTimeout))
	}
	return errors.Join(errs...)
}

// Flags binds c to --data-dir, --sync-writes, --kafka-listen,
// --registry-listen, --group-min-session-timeout, --no-auth and
// --admin-file. Partitions is left
// out on purpose: `ration dev` also binds kafkaconn's --partitions and the
// two must not clash; the caller binds it where it makes sense.
func (c *Config) Flags(fs *pflag.FlagSet) {
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, `directory that keeps Kafka's data, schema ids and ports across restarts ("": in memory)`)
	fs.BoolVar(&c.SyncWrites, "sync-writes", c.SyncWrites, "fsync every produced batch (slower; survives a machine crash)")
	fs.StringVar(&c.KafkaAddr, "kafka-listen", c.KafkaAddr, "Kafka listen host:port (port 0: pick one, kept in --data-dir)")
	fs.StringVar(&c.RegistryAddr, "registry-listen", c.RegistryAddr, "schema registry listen host:port (port 0: pick one, kept in --data-dir)")
	fs.DurationVar(&c.MinSessionTimeout, "group-min-session-timeout", c.MinSessionTimeout, "shortest consumer group session the broker accepts")
	fs.BoolVar(&c.NoAuth, "no-auth", c.NoAuth, "turn SASL/SCRAM authentication and ACLs off (keep the listener on loopback)")
	fs.StringVar(&c.AdminFile, "admin-file", c.AdminFile, `file of the admin's Kafka credentials, created on first start (default: DATA_DIR/`+AdminFileName+`)`)
}

// splitListenAddr parses host:port. An advertised address (Kafka's: kfake
// tells clients its listener's address in metadata) must have a host that
// clients can dial.
func splitListenAddr(addr string, advertised bool) (string, int, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return "", 0, fmt.Errorf("port %q: %w", portStr, err)
	}
	if host == "" && advertised {
		return "", 0, fmt.Errorf("%q: no host (clients are told this address; use 127.0.0.1)", addr)
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.IsUnspecified() && advertised {
		return "", 0, fmt.Errorf("%q: unspecified host (clients are told this address; use a dialable one)", addr)
	}
	return host, int(port), nil
}
