package processor

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/rationhq/ration/schemas"
)

// Config configures one stage.
type Config struct {
	// Name names the stage in metrics, logs and the transactional id.
	Name string
	// Group is the consumer group. Default "ration." + Name.
	Group string
	// Topics are the input topics, highest priority first.
	Topics []string
	// InstanceID is the static group member id; a worker restarted with the
	// same id within SessionTimeout gets its buckets back without a
	// rebalance. It also names the transactional id, so it must be unique
	// per worker. Default: the host name.
	InstanceID string
	// SessionTimeout is how long a silent worker keeps its buckets.
	// Default 10s (Kafka's 45s is too slow for DM-11).
	SessionTimeout time.Duration
	// TransactionTimeout bounds one batch. It must stay below
	// SessionTimeout. Default SessionTimeout*3/5.
	TransactionTimeout time.Duration
	// Concurrency is the number of keys processed at once. Default 16.
	Concurrency int
	// MaxPollRecords caps one batch (one transaction). Default 1000.
	MaxPollRecords int
	// FetchMaxBytes bounds what the client buffers ahead of processing.
	// A small buffer lets newly arrived high-priority records be seen soon:
	// the client fetches again only once its buffer is drained. Default
	// 1 MiB.
	FetchMaxBytes int32
	// NormalShare: while the first topic has a backlog, one batch in
	// NormalShare goes to the other topics. Default 5.
	NormalShare int
	// PriorityCheckInterval is how often a stage with several inputs asks
	// where they end, to learn which have a backlog. Default 200ms.
	PriorityCheckInterval time.Duration
	// DeadLetterTopic receives, with error headers, every record the
	// handler fails permanently. Default "": such records are logged and
	// skipped.
	DeadLetterTopic string
	// Retry turns on non-blocking retries of transient failures; see
	// Retry. Nil: a transient failure aborts the batch, which is tried
	// again after a pause (the bucket waits).
	Retry *Retry
	// LeaveOnShutdown makes a graceful stop leave the group, so buckets move
	// at once instead of after SessionTimeout. A crash never leaves, so a
	// restarted worker gets its buckets back. Default true.
	LeaveOnShutdown bool
}

// DefaultConfig returns the defaults for a stage named name.
func DefaultConfig(name string, topics ...string) Config {
	host, _ := os.Hostname()
	return Config{
		Name:                  name,
		Group:                 "ration." + name,
		Topics:                topics,
		InstanceID:            host,
		SessionTimeout:        10 * time.Second,
		Concurrency:           16,
		MaxPollRecords:        1000,
		FetchMaxBytes:         1 << 20,
		NormalShare:           5,
		PriorityCheckInterval: 200 * time.Millisecond,
		LeaveOnShutdown:       true,
	}
}

// Flags binds the settings an operator tunes.
func (c *Config) Flags(fs *pflag.FlagSet) {
	fs.StringVar(&c.Group, "group", c.Group, "consumer group of the stage")
	fs.StringVar(&c.InstanceID, "instance-id", c.InstanceID, "static member id, unique per worker (default: host name)")
	fs.DurationVar(&c.SessionTimeout, "session-timeout", c.SessionTimeout, "time after which a silent worker's buckets move")
	fs.DurationVar(&c.TransactionTimeout, "transaction-timeout", c.TransactionTimeout, "bound on one batch (default 3/5 of the session timeout)")
	fs.IntVar(&c.Concurrency, "concurrency", c.Concurrency, "keys processed at once")
	fs.IntVar(&c.MaxPollRecords, "max-poll-records", c.MaxPollRecords, "records per batch (one transaction)")
	fs.Int32Var(&c.FetchMaxBytes, "fetch-max-bytes", c.FetchMaxBytes, "bytes buffered ahead of processing; smaller lets high priority in sooner")
	fs.IntVar(&c.NormalShare, "normal-share", c.NormalShare, "while high-priority work waits, one batch in N is normal work")
	fs.BoolVar(&c.LeaveOnShutdown, "leave-on-shutdown", c.LeaveOnShutdown, "leave the group on a graceful stop so buckets move at once")
	if c.Retry != nil {
		fs.DurationSliceVar(&c.Retry.Delays, "retry-delays", c.Retry.Delays, "delay tiers of transient failures; after the last the item is parked")
	}
}

func (c *Config) setDefaults() {
	if c.Group == "" {
		c.Group = "ration." + c.Name
	}
	if c.TransactionTimeout == 0 {
		c.TransactionTimeout = c.SessionTimeout * 3 / 5
	}
}

// Validate reports a config that cannot work.
func (c *Config) Validate() error {
	switch {
	case c.Name == "":
		return errors.New("stage: no name")
	case len(c.Topics) == 0:
		return errors.New("stage: no input topics")
	case c.InstanceID == "":
		return errors.New("stage: no instance id")
	case c.SessionTimeout < time.Second:
		return fmt.Errorf("stage: session timeout %v < 1s", c.SessionTimeout)
	case c.TransactionTimeout >= c.SessionTimeout:
		return fmt.Errorf("stage: transaction timeout %v must be below the session timeout %v", c.TransactionTimeout, c.SessionTimeout)
	case c.Concurrency < 1:
		return fmt.Errorf("stage: concurrency %d < 1", c.Concurrency)
	case c.MaxPollRecords < 1:
		return fmt.Errorf("stage: max poll records %d < 1", c.MaxPollRecords)
	case c.FetchMaxBytes < 1<<10:
		return fmt.Errorf("stage: fetch max bytes %d < 1 KiB", c.FetchMaxBytes)
	case c.PriorityCheckInterval <= 0:
		return errors.New("stage: priority check interval must be positive")
	case c.NormalShare < 2:
		return fmt.Errorf("stage: normal share %d < 2", c.NormalShare)
	}
	if c.Retry != nil {
		return c.Retry.validate()
	}
	return nil
}

// RuntimeTopics lists every topic the stage reads or writes itself, besides its
// inputs and its handler's outputs: the dead-letter topic and, with
// retries, the delay tiers, the parked topic and the inputs' changelogs.
// Each changelog must be compacted and have as many partitions as its
// input.
func (c Config) RuntimeTopics() (delays, changelogs, others []string) {
	if c.DeadLetterTopic != "" {
		others = append(others, c.DeadLetterTopic)
	}
	if c.Retry == nil {
		return nil, nil, others
	}
	for tier := range len(c.Retry.Delays) {
		delays = append(delays, schemas.DelayTopic(c.Retry.Pipeline, tier+1))
	}
	for _, t := range c.Topics {
		changelogs = append(changelogs, schemas.BlockedTopic(t))
	}
	return delays, changelogs, append(others, schemas.ParkedTopic(c.Retry.Pipeline))
}
