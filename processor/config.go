package processor

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/pflag"
)

// Config configures one worker of one stage. The names (group, topics,
// transactional ids) are derived from a pipeline's descriptor (package
// pipeline); Tuning is what an operator sets.
type Config struct {
	Tuning

	// Pipeline and Name name the stage in status events, metrics and logs.
	Pipeline string
	Name     string
	// Group is the consumer group.
	Group string
	// TransactionalIDPrefix starts every transactional id of the stage's
	// workers: the stage's own is the prefix plus the instance id, a
	// delayer's the prefix plus "delay.N." plus the instance id.
	TransactionalIDPrefix string
	// Topics are the input topics, the high-priority one first when
	// Priority. They must have as many partitions as each other:
	// partition p of every input is one bucket, owned by one worker.
	Topics []string
	// Priority makes the first topic jump the queue (see the package doc,
	// "Priority"). Without it every input is fetched as it comes: a view
	// folds all of them, and no input of it is more urgent.
	Priority bool
	// EventsTopic receives a status event for every input record: SUCCESS
	// when it leaves a stage that is not the last, PROCESSED at the last
	// (Last), ERROR, REPROCESS or FAILED when it fails. Empty for a view,
	// which folds records into state and is no step of an item's path.
	EventsTopic string
	// Last says the stage is the last of the items' path.
	Last bool
	// DeadLetterTopic receives, with error headers, every record the
	// handler fails permanently. Empty: such records are logged and
	// skipped.
	DeadLetterTopic string
	// ChangelogTopic keeps the stage's state: its retry loop and, with
	// State, the handler's. Compacted, with as many partitions as the
	// inputs (partition p keeps bucket p). Required with Retry or State.
	ChangelogTopic string
	// Retry turns on non-blocking retries of transient failures; see
	// Retry. Nil: a transient failure aborts the batch, which is tried
	// again after a pause (the bucket waits).
	Retry *Retry
	// State gives the handler a state store (see State).
	State bool
	// LanesByPartition runs one partition's records on one lane, in order,
	// instead of one key's: for a handler whose state spans keys, such as
	// a view's per-partition counts.
	LanesByPartition bool
}

// Tuning is what an operator sets for a stage's workers.
type Tuning struct {
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
	// BatchLinger is how long a batch that came short of MaxPollRecords
	// waits for more records before it is processed: fewer, larger
	// transactions while the load is light, each record later by up to
	// that much per stage (0: a batch is what one poll returns). Default
	// 10 ms: at 200 receipts/s it took a fifth off `ration dev`'s CPU.
	BatchLinger time.Duration
	// FetchMaxBytes bounds what the client buffers ahead of processing.
	// A small buffer lets newly arrived high-priority records be seen soon:
	// the client fetches again only once its buffer is drained. Default
	// 1 MiB.
	FetchMaxBytes int32
	// NormalShare: while the high-priority topic of a stage with Priority
	// has a backlog, one record in NormalShare comes from its other
	// topics. Default 5.
	NormalShare int
	// PriorityCheckInterval is how often a stage with Priority asks where
	// its inputs end, to learn which have a backlog. Default 200ms.
	PriorityCheckInterval time.Duration
	// LeaveOnShutdown makes a graceful stop leave the group, so buckets move
	// at once instead of after SessionTimeout. A crash never leaves, so a
	// restarted worker gets its buckets back. Default true.
	LeaveOnShutdown bool
	// RetryDelays, if set, replace the delay tiers of every stage with
	// retries (--retry-delays; applied to the pipelines' descriptors with
	// pipeline.Descriptor.WithRetryDelays before their topics are made).
	// Default: each stage's own (its descriptor's).
	RetryDelays []time.Duration
}

// DefaultTuning returns the defaults.
func DefaultTuning() Tuning {
	host, _ := os.Hostname()
	return Tuning{
		InstanceID:            host,
		SessionTimeout:        10 * time.Second,
		Concurrency:           16,
		MaxPollRecords:        1000,
		BatchLinger:           10 * time.Millisecond,
		FetchMaxBytes:         1 << 20,
		NormalShare:           5,
		PriorityCheckInterval: 200 * time.Millisecond,
		LeaveOnShutdown:       true,
	}
}

// Flags binds the settings an operator tunes.
func (t *Tuning) Flags(fs *pflag.FlagSet) {
	fs.StringVar(&t.InstanceID, "instance-id", t.InstanceID, "static member id, unique per worker (defaults to the host name)")
	fs.DurationVar(&t.SessionTimeout, "session-timeout", t.SessionTimeout, "time after which a silent worker's buckets move")
	fs.DurationVar(&t.TransactionTimeout, "transaction-timeout", t.TransactionTimeout, "bound on one batch (default 3/5 of the session timeout)")
	fs.IntVar(&t.Concurrency, "concurrency", t.Concurrency, "keys processed at once")
	fs.IntVar(&t.MaxPollRecords, "max-poll-records", t.MaxPollRecords, "records per batch (one transaction)")
	fs.DurationVar(&t.BatchLinger, "batch-linger", t.BatchLinger, "how long a short batch waits for more records (larger transactions, later records)")
	fs.Int32Var(&t.FetchMaxBytes, "fetch-max-bytes", t.FetchMaxBytes, "bytes buffered ahead of processing; smaller lets high priority in sooner")
	fs.IntVar(&t.NormalShare, "normal-share", t.NormalShare, "while high-priority work waits, one record in N is normal work")
	fs.BoolVar(&t.LeaveOnShutdown, "leave-on-shutdown", t.LeaveOnShutdown, "leave the group on a graceful stop so buckets move at once")
	fs.DurationSliceVar(&t.RetryDelays, "retry-delays", t.RetryDelays, "delay tiers of transient failures, after the last the item is parked (default: each stage's own, from its pipeline's descriptor)")
	fs.Lookup("retry-delays").DefValue = "" // not the empty list pflag would show
}

func (c *Config) setDefaults() {
	if c.TransactionTimeout == 0 {
		c.TransactionTimeout = c.SessionTimeout * 3 / 5
	}
}

// Validate reports a config that cannot work.
func (c *Config) Validate() error {
	switch {
	case c.Name == "" || c.Pipeline == "":
		return errors.New("stage: no pipeline or stage name")
	case c.Group == "" || c.TransactionalIDPrefix == "":
		return errors.New("stage: no group or transactional id prefix")
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
	case c.BatchLinger < 0 || c.BatchLinger >= c.TransactionTimeout:
		return fmt.Errorf("stage: batch linger %v must be from 0 to below the transaction timeout %v", c.BatchLinger, c.TransactionTimeout)
	case c.FetchMaxBytes < 1<<10:
		return fmt.Errorf("stage: fetch max bytes %d < 1 KiB", c.FetchMaxBytes)
	case c.PriorityCheckInterval <= 0:
		return errors.New("stage: priority check interval must be positive")
	case c.NormalShare < 2:
		return fmt.Errorf("stage: normal share %d < 2", c.NormalShare)
	case c.Priority && len(c.Topics) < 2:
		return errors.New("stage: priority needs a second input to hold back")
	case (c.Retry != nil || c.State) && c.ChangelogTopic == "":
		return errors.New("stage: retries and state need a changelog topic")
	case c.Retry != nil && c.EventsTopic == "":
		return errors.New("stage: retries need an events topic (a view has none)")
	}
	if c.Retry != nil {
		return c.Retry.validate()
	}
	return nil
}

// TransactionalID is the transactional id of the stage's own producer for
// this worker: stable across restarts, so a restarted worker fences its
// old self.
func (c Config) TransactionalID() string { return c.TransactionalIDPrefix + c.InstanceID }
