package dm

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/pflag"

	"github.com/rationhq/ration/pipeline"
)

// Options are the DM pipeline's own settings: the checker its check stage
// asks.
type Options struct {
	// CheckerURL names an HTTP checker ("http://host/path/{user_id}"); empty
	// uses the built-in simulator.
	CheckerURL string
	// CheckerRate caps requests per second to the HTTP checker, per worker.
	// Default 0: no cap.
	CheckerRate float64
	// CheckerTimeout bounds one HTTP check. Default 5s.
	CheckerTimeout time.Duration
	// SimLatency and SimErrorRate shape the built-in simulator.
	SimLatency   time.Duration
	SimErrorRate float64
	// Faults, if set, are the built-in simulator's run-time faults (ration
	// dev serves them at /admin/faults).
	Faults *Faults
	// ItemLogLevel is the level of the line logged per checked item (RP-8:
	// info). At a high rate that is a line per check; debug keeps it out
	// of an info log.
	ItemLogLevel slog.Level
}

var _ pipeline.Options = (*Options)(nil)

// DefaultOptions returns the defaults.
func DefaultOptions() *Options {
	return &Options{CheckerTimeout: 5 * time.Second}
}

// Flags implements pipeline.Options.
func (o *Options) Flags(fs *pflag.FlagSet) {
	fs.StringVar(&o.CheckerURL, "checker-url", o.CheckerURL, "HTTP checker URL template with {user_id} (default: built-in simulator)")
	fs.Float64Var(&o.CheckerRate, "checker-rate", o.CheckerRate, "max checks per second per worker to the HTTP checker (0: no limit)")
	fs.DurationVar(&o.CheckerTimeout, "checker-timeout", o.CheckerTimeout, "timeout of one HTTP check")
	fs.DurationVar(&o.SimLatency, "sim-latency", o.SimLatency, "latency of the built-in simulator")
	fs.Float64Var(&o.SimErrorRate, "sim-error-rate", o.SimErrorRate, "error rate (0..1) of the built-in simulator")
	fs.TextVar(&o.ItemLogLevel, "item-log-level", o.ItemLogLevel, "level of the line logged per checked item (debug, info, warn)")
}

// Validate implements pipeline.Options.
func (o *Options) Validate() error {
	switch {
	case o.SimErrorRate < 0 || o.SimErrorRate > 1:
		return fmt.Errorf("dm: sim error rate %v outside 0..1", o.SimErrorRate)
	case o.CheckerTimeout <= 0:
		return errors.New("dm: checker timeout must be positive")
	}
	return nil
}

// Checker returns the configured checker.
func (o *Options) Checker() (Checker, error) {
	if o.CheckerURL == "" {
		return Simulator{Latency: o.SimLatency, ErrorRate: o.SimErrorRate, Faults: o.Faults}, nil
	}
	return NewHTTPChecker(o.CheckerURL, o.CheckerRate, o.CheckerTimeout)
}
