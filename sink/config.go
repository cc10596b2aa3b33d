package sink

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/pflag"
)

// Config sets up a sink. The zero value of a field means its default.
type Config struct {
	// Target is where rows go.
	Target
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
	// SessionTimeout is how long a silent sink keeps its partitions
	// before the others take them over: after a crash, their rows wait
	// this long. Default 10 s, as a worker's (kgo's own is 45 s).
	SessionTimeout time.Duration
}

// DefaultConfig returns the defaults, for binding flags.
func DefaultConfig() Config {
	var c Config
	c.setDefaults()
	return c
}

func (c *Config) setDefaults() {
	def := DefaultTarget()
	if c.ClickHouse == "" {
		c.ClickHouse = def.ClickHouse
	}
	if c.Database == "" {
		c.Database = def.Database
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
	if c.SessionTimeout == 0 {
		c.SessionTimeout = 10 * time.Second
	}
}

// Flags binds c to the target's flags, --sink-group, --batch-rows,
// --flush-interval and --sink-session-timeout, with c's values as
// defaults.
func (c *Config) Flags(fs *pflag.FlagSet) {
	c.Target.Flags(fs)
	fs.StringVar(&c.Group, "sink-group", c.Group, "Kafka consumer group of the sink")
	fs.IntVar(&c.BatchRows, "batch-rows", c.BatchRows, "flush after this many records")
	fs.DurationVar(&c.FlushInterval, "flush-interval", c.FlushInterval, "flush at least this often while records arrive")
	fs.DurationVar(&c.SessionTimeout, "sink-session-timeout", c.SessionTimeout, "time after which a silent sink's partitions move to the other sinks")
}

// Validate reports a config that cannot work.
func (c Config) Validate() error {
	var errs []error
	if err := c.Target.Validate(); err != nil {
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
	if c.SessionTimeout < time.Second {
		errs = append(errs, fmt.Errorf("session timeout %v < 1s", c.SessionTimeout))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sink config: %w", err)
	}
	return nil
}
