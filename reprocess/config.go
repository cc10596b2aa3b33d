package reprocess

import (
	"errors"
	"fmt"
	"strings"
	"time"
	// The window's time zone must load on hosts (and images) without a
	// zoneinfo database.
	_ "time/tzdata"

	"github.com/spf13/pflag"

	"github.com/rationhq/ration/internal/cliconfig"
	"github.com/rationhq/ration/notify"
)

// Config configures the reprocessor. Flag (and YAML) names mirror the
// seed's configuration keys: reprocess.attempt_count, reprocess.schedule,
// reprocess.fetch_size, reprocess.elapse, reprocess.window. Like the seed's,
// the durations may be given in seconds ("86400"), or as Go durations.
type Config struct {
	// AttemptCount is the maximum retry count: an item re-sent this often
	// is given up on. Default 3.
	AttemptCount int
	// Schedule is the time between scheduled runs. Default 24h.
	Schedule time.Duration
	// FetchSize is the number of items selected at once. Default 1000.
	FetchSize int
	// Elapse is how long an item in ERROR or SUCCESS must be unchanged to
	// count as stuck. Default 6h.
	Elapse time.Duration
	// Window confines scheduled runs to off-peak hours, "HH:MM-HH:MM"
	// (it may wrap midnight), in TimeZone. Empty: any time.
	Window string
	// TimeZone is the IANA zone of Window. Default UTC.
	TimeZone string
	// Rate caps re-sent items per second. 0: no cap.
	Rate float64
	// Notify says whom to tell about given-up items.
	Notify notify.Config
}

// DefaultConfig returns the defaults of RP-6.
func DefaultConfig() Config {
	return Config{
		AttemptCount: 3,
		Schedule:     24 * time.Hour,
		FetchSize:    1000,
		Elapse:       6 * time.Hour,
		TimeZone:     "UTC",
		Notify:       notify.DefaultConfig(),
	}
}

// Flags binds the settings.
func (c *Config) Flags(fs *pflag.FlagSet) {
	fs.IntVar(&c.AttemptCount, "reprocess.attempt_count", c.AttemptCount, "re-sends of an item before it is given up on (and notified about)")
	cliconfig.DurationVar(fs, &c.Schedule, "reprocess.schedule", c.Schedule, "time between scheduled runs, as a duration (24h) or in seconds (86400)")
	fs.IntVar(&c.FetchSize, "reprocess.fetch_size", c.FetchSize, "items selected at once")
	cliconfig.DurationVar(fs, &c.Elapse, "reprocess.elapse", c.Elapse, "time without change after which an item in ERROR or SUCCESS counts as stuck, as a duration (6h) or in seconds (21600)")
	fs.StringVar(&c.Window, "reprocess.window", c.Window, `off-peak window of scheduled runs, "HH:MM-HH:MM" (empty: any time)`)
	fs.StringVar(&c.TimeZone, "reprocess.time_zone", c.TimeZone, "IANA time zone of the window")
	fs.Float64Var(&c.Rate, "reprocess.rate", c.Rate, "max items re-sent per second (0: no limit)")
	c.Notify.Flags(fs)
}

// Validate reports a config that cannot work.
func (c *Config) Validate() error {
	var errs []error
	if c.AttemptCount < 1 {
		errs = append(errs, fmt.Errorf("reprocess.attempt_count %d < 1", c.AttemptCount))
	}
	if c.Schedule < time.Second {
		errs = append(errs, fmt.Errorf("reprocess.schedule %v < 1s", c.Schedule))
	}
	if c.FetchSize < 1 {
		errs = append(errs, fmt.Errorf("reprocess.fetch_size %d < 1", c.FetchSize))
	}
	if c.Elapse <= 0 {
		errs = append(errs, fmt.Errorf("reprocess.elapse %v must be positive", c.Elapse))
	}
	if c.Rate < 0 {
		errs = append(errs, fmt.Errorf("reprocess.rate %v < 0", c.Rate))
	}
	if _, err := c.window(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Notify.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// window parses Window and TimeZone; nil means any time.
func (c *Config) window() (*Window, error) {
	if strings.TrimSpace(c.Window) == "" {
		return nil, nil
	}
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("reprocess.time_zone: %w", err)
	}
	w, err := ParseWindow(c.Window, loc)
	if err != nil {
		return nil, fmt.Errorf("reprocess.window: %w", err)
	}
	return w, nil
}
