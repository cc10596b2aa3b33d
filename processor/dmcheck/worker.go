package dmcheck

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/pflag"

	"github.com/rationhq/ration/processor"
	"github.com/rationhq/ration/schemas"
)

// Config configures one DM-check worker.
type Config struct {
	// Stage is the runtime's config; its topics are the two check topics.
	Stage processor.Config
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
	// ItemLogLevel is the level of the line logged per checked item (RP-8:
	// info). At a high rate that is a line per check; debug keeps it out
	// of an info log.
	ItemLogLevel slog.Level
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	stage := processor.DefaultConfig("dmcheck", schemas.TopicDMChecksHigh, schemas.TopicDMChecks)
	stage.DeadLetterTopic = schemas.TopicDMDead
	stage.Retry = &processor.Retry{Pipeline: PipelineName, Stage: StageName, Delays: processor.DefaultDelays()}
	return Config{
		Stage:          stage,
		CheckerTimeout: 5 * time.Second,
	}
}

// Flags binds the worker's settings, the runtime's included.
func (c *Config) Flags(fs *pflag.FlagSet) {
	c.Stage.Flags(fs)
	fs.StringVar(&c.CheckerURL, "checker-url", c.CheckerURL, "HTTP checker URL template with {user_id} (default: built-in simulator)")
	fs.Float64Var(&c.CheckerRate, "checker-rate", c.CheckerRate, "max checks per second per worker to the HTTP checker (0: no limit)")
	fs.DurationVar(&c.CheckerTimeout, "checker-timeout", c.CheckerTimeout, "timeout of one HTTP check")
	fs.DurationVar(&c.SimLatency, "sim-latency", c.SimLatency, "latency of the built-in simulator")
	fs.Float64Var(&c.SimErrorRate, "sim-error-rate", c.SimErrorRate, "error rate (0..1) of the built-in simulator")
	fs.TextVar(&c.ItemLogLevel, "item-log-level", c.ItemLogLevel, "level of the line logged per checked item (debug, info, warn)")
}

// Validate reports a config that cannot work.
func (c *Config) Validate() error {
	switch {
	case c.SimErrorRate < 0 || c.SimErrorRate > 1:
		return fmt.Errorf("dmcheck: sim error rate %v outside 0..1", c.SimErrorRate)
	case c.CheckerTimeout <= 0:
		return errors.New("dmcheck: checker timeout must be positive")
	}
	return nil
}

// Checker returns the configured checker.
func (c *Config) Checker() (Checker, error) {
	if c.CheckerURL == "" {
		return Simulator{Latency: c.SimLatency, ErrorRate: c.SimErrorRate}, nil
	}
	return NewHTTPChecker(c.CheckerURL, c.CheckerRate, c.CheckerTimeout)
}

// NewWorker returns a DM-check worker: the stage runtime running the
// pipeline. metrics may be nil.
func NewWorker(cfg Config, codec *schemas.Codec, deps processor.Deps, metrics *Metrics) (*processor.Stage, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	checker, err := cfg.Checker()
	if err != nil {
		return nil, err
	}
	log := deps.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Pipeline{
		codec:   codec,
		checker: checker,
		worker:  cfg.Stage.InstanceID,
		metrics: metrics,
		log:     log.With("pipeline", PipelineName),
		level:   cfg.ItemLogLevel,
		now:     time.Now,
	}
	deps.Codec = codec
	return processor.New(cfg.Stage, p, deps)
}
