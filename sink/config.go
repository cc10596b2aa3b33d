package sink

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/pflag"
)

// Config sets up a sink. The zero value of a field means its default.
type Config struct {
	// ClickHouse is the server's native protocol address, host:port.
	// Default 127.0.0.1:9000.
	ClickHouse string
	// Database holds ration's tables; it is created if missing. Default
	// "ration".
	Database string
	// Group is the Kafka consumer group. Default "ration-sink".
	Group string
	// BatchRows flushes once this many records are buffered. Default 10 000.
	BatchRows int
	// FlushInterval flushes this long after the oldest buffered record
	// arrived, however few records there are. Default 1 s.
	FlushInterval time.Duration
	// MaxBackoff caps the wait between insert attempts while ClickHouse is
	// unreachable. Default 5 s.
	MaxBackoff time.Duration
}

// DefaultConfig returns the defaults, for binding flags.
func DefaultConfig() Config {
	var c Config
	c.setDefaults()
	return c
}

func (c *Config) setDefaults() {
	if c.ClickHouse == "" {
		c.ClickHouse = "127.0.0.1:9000"
	}
	if c.Database == "" {
		c.Database = "ration"
	}
	if c.Group == "" {
		c.Group = "ration-sink"
	}
	if c.BatchRows == 0 {
		c.BatchRows = 10_000
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = time.Second
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = 5 * time.Second
	}
}

// Flags binds c to --clickhouse, --clickhouse-db, --sink-group,
// --batch-rows and --flush-interval, with c's values as defaults.
func (c *Config) Flags(fs *pflag.FlagSet) {
	fs.StringVar(&c.ClickHouse, "clickhouse", c.ClickHouse, "ClickHouse native protocol address, host:port")
	fs.StringVar(&c.Database, "clickhouse-db", c.Database, "ClickHouse database (created if missing)")
	fs.StringVar(&c.Group, "sink-group", c.Group, "Kafka consumer group of the sink")
	fs.IntVar(&c.BatchRows, "batch-rows", c.BatchRows, "flush after this many records")
	fs.DurationVar(&c.FlushInterval, "flush-interval", c.FlushInterval, "flush at least this often while records arrive")
}

// Validate reports a config that cannot work.
func (c Config) Validate() error {
	var errs []error
	if c.ClickHouse == "" {
		errs = append(errs, errors.New("no ClickHouse address"))
	}
	if _, err := QuoteDB(c.Database); err != nil {
		errs = append(errs, err)
	}
	if c.Group == "" {
		errs = append(errs, errors.New("no consumer group"))
	}
	if c.BatchRows < 1 {
		errs = append(errs, fmt.Errorf("batch rows %d < 1", c.BatchRows))
	}
	if c.FlushInterval <= 0 {
		errs = append(errs, fmt.Errorf("flush interval %v <= 0", c.FlushInterval))
	}
	if c.MaxBackoff <= 0 {
		errs = append(errs, fmt.Errorf("max backoff %v <= 0", c.MaxBackoff))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sink config: %w", err)
	}
	return nil
}
