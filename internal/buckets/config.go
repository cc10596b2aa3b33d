package buckets

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Stage is one stage to inspect: the runtime's consumer group of the
// stage and the topics it consumes.
type Stage struct {
	// Pipeline and Name name the stage in reports and metrics ("dm",
	// "check").
	Pipeline string
	Name     string
	// Group is the stage's consumer group.
	Group string
	// Topics are its input topics, in the order reported.
	Topics []string
}

// Config configures an Inspector.
type Config struct {
	// Stages are what to inspect, reported in this order (grouped by
	// pipeline, pipelines in the order they first appear).
	Stages []Stage
	// Interval is the time between samples of Run, and how old a report
	// may be before a request samples anew. Default 5s.
	Interval time.Duration
	// SampleTimeout bounds one sample. Default 10s.
	SampleTimeout time.Duration
}

// DefaultConfig returns the defaults, with no stages.
func DefaultConfig() Config {
	return Config{Interval: 5 * time.Second, SampleTimeout: 10 * time.Second}
}

func (c *Config) setDefaults() {
	d := DefaultConfig()
	if c.Interval == 0 {
		c.Interval = d.Interval
	}
	if c.SampleTimeout == 0 {
		c.SampleTimeout = d.SampleTimeout
	}
}

// Validate reports a config that cannot work.
func (c Config) Validate() error {
	if len(c.Stages) == 0 {
		return errors.New("buckets: no stages to inspect")
	}
	if c.Interval <= 0 {
		return fmt.Errorf("buckets: interval %v must be positive", c.Interval)
	}
	if c.SampleTimeout <= 0 {
		return fmt.Errorf("buckets: sample timeout %v must be positive", c.SampleTimeout)
	}
	seen := make(map[[2]string]bool, len(c.Stages))
	for i, s := range c.Stages {
		switch {
		case s.Pipeline == "" || s.Name == "":
			return fmt.Errorf("buckets: stage %d: a pipeline and a name are required", i)
		case s.Group == "":
			return fmt.Errorf("buckets: stage %s/%s: no consumer group", s.Pipeline, s.Name)
		case len(s.Topics) == 0:
			return fmt.Errorf("buckets: stage %s/%s: no input topics", s.Pipeline, s.Name)
		case seen[[2]string{s.Pipeline, s.Name}]:
			return fmt.Errorf("buckets: stage %s/%s given twice", s.Pipeline, s.Name)
		}
		seen[[2]string{s.Pipeline, s.Name}] = true
	}
	return nil
}

// Deps are what an Inspector is given rather than configured with.
type Deps struct {
	// Kafka are the client options that reach the cluster (seed brokers,
	// SASL, logger). The inspector's user must be allowed to describe the
	// stages' groups and topics and to read the topics.
	Kafka []kgo.Opt
	// Measured are options for the inspector's long-lived client only,
	// such as a client id and kprom hooks; the short-lived clients that
	// read the oldest waiting records do not get them.
	Measured []kgo.Opt
	// Log receives failed samples (WARN). Default: discard.
	Log *slog.Logger
	// Registerer gets the bucket and stage gauges. Nil: no metrics.
	Registerer prometheus.Registerer
}
