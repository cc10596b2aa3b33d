// Package kafkaconn holds the settings every role needs to reach Kafka and
// the schema registry, and the start-up steps they share: client options,
// topic creation and schema registration.
package kafkaconn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/plugin/kslog"

	"github.com/rationhq/ration/schemas"
)

// Config says where Kafka and the schema registry are.
type Config struct {
	// Brokers are the seed brokers. Default 127.0.0.1:9092.
	Brokers []string
	// Registry is the schema registry's URL. Default http://127.0.0.1:8081.
	Registry string
	// Partitions is the partition count of topics ration creates (the
	// number of buckets). Default 12.
	Partitions int32
	// User and Password authenticate to Kafka with SASL/SCRAM-SHA-512.
	// Default "": no authentication (a broker with SASL on refuses every
	// request but the handshake).
	User     string
	Password string
	// ReplicationFactor and MinInsyncReplicas are those of the topics
	// ration creates. Default 0: derived from the cluster's size when a
	// topic is created — 3 and 2 on three brokers or more (a broker may
	// fail and writes go on), as many as there are below that, down to 1
	// and 1 on the embedded single broker.
	ReplicationFactor int16
	MinInsyncReplicas int16
}

// Defaults returns the config of a local `ration broker`.
func Defaults() Config {
	return Config{Brokers: []string{"127.0.0.1:9092"}, Registry: "http://127.0.0.1:8081", Partitions: 12}
}

// Flags binds c to --kafka, --registry, --partitions, --kafka-user and
// --kafka-password.
func (c *Config) Flags(fs *pflag.FlagSet) {
	fs.StringSliceVar(&c.Brokers, "kafka", c.Brokers, "Kafka seed brokers, host:port[,host:port]")
	fs.StringVar(&c.Registry, "registry", c.Registry, "schema registry URL")
	fs.Int32Var(&c.Partitions, "partitions", c.Partitions, "partitions (buckets) of the topics ration creates")
	fs.StringVar(&c.User, "kafka-user", c.User, `SASL/SCRAM-SHA-512 user ("": no authentication)`)
	// The password is better passed as RATION_KAFKA_PASSWORD or in the
	// --config file: a flag shows in the process list.
	fs.StringVar(&c.Password, "kafka-password", c.Password, "SASL/SCRAM-SHA-512 password (prefer RATION_KAFKA_PASSWORD: flags show in ps)")
	fs.Int16Var(&c.ReplicationFactor, "replication-factor", c.ReplicationFactor, "replication factor of the topics ration creates (0: 3, or the brokers there are when fewer)")
	fs.Int16Var(&c.MinInsyncReplicas, "min-insync-replicas", c.MinInsyncReplicas, "min.insync.replicas of the topics ration creates (0: one less than the replication factor, at least 1)")
}

// Validate reports a config that cannot work.
func (c Config) Validate() error {
	if len(c.Brokers) == 0 {
		return errors.New("kafka: no seed brokers")
	}
	if c.Registry == "" {
		return errors.New("kafka: no schema registry URL")
	}
	if c.Partitions < 1 {
		return fmt.Errorf("kafka: partitions %d < 1", c.Partitions)
	}
	if c.User == "" && c.Password != "" {
		return errors.New("kafka: a password without a user")
	}
	if c.ReplicationFactor < 0 || c.MinInsyncReplicas < 0 ||
		(c.ReplicationFactor > 0 && c.MinInsyncReplicas > c.ReplicationFactor) {
		return fmt.Errorf("kafka: replication factor %d and min.insync.replicas %d: want 0 <= min.insync <= factor",
			c.ReplicationFactor, c.MinInsyncReplicas)
	}
	return nil
}

// Session sets a group member's session timeout, after which a silent
// member's partitions move to the others, and heartbeats ten times within
// it, so that one lost heartbeat does not cost the member its partitions.
func Session(timeout time.Duration) []kgo.Opt {
	return []kgo.Opt{kgo.SessionTimeout(timeout), kgo.HeartbeatInterval(max(timeout/10, 100*time.Millisecond))}
}

// Opts returns the client options that reach the cluster; log may be nil.
func (c Config) Opts(log *slog.Logger) []kgo.Opt {
	opts := []kgo.Opt{kgo.SeedBrokers(c.Brokers...)}
	if c.User != "" {
		opts = append(opts, kgo.SASL(scram.Auth{User: c.User, Pass: c.Password}.AsSha512Mechanism()))
	}
	if log != nil {
		opts = append(opts, kgo.WithLogger(quietLogger{kslog.New(log.With("component", "franz-go"))}))
	}
	return opts
}

// quietLogger keeps franz-go at warnings unless ration logs at debug:
// franz-go logs every transaction at info, which would drown ration's own
// per-item lines.
type quietLogger struct{ *kslog.Logger }

func (l quietLogger) Level() kgo.LogLevel {
	lv := l.Logger.Level()
	if lv >= kgo.LogLevelDebug {
		return kgo.LogLevelInfo
	}
	return min(lv, kgo.LogLevelWarn)
}

// Registry returns a schema registry client.
func (c Config) RegistryClient() (*sr.Client, error) {
	return sr.NewClient(sr.URLs(c.Registry))
}

// Codec registers the schemas of topics and records (see schemas.Register)
// and returns the codec for them.
func (c Config) Codec(ctx context.Context, topics []schemas.TopicSchema, records ...schemas.Record) (*schemas.Codec, error) {
	cl, err := c.RegistryClient()
	if err != nil {
		return nil, err
	}
	return schemas.Register(ctx, cl, topics, records...)
}

// TopicSpec is a topic to create.
type TopicSpec struct {
	Name string
	// Partitions: 0 means Config.Partitions.
	Partitions int32
	Compact    bool
	// Retention, with Compact, also deletes what is older than it: a
	// table that only its recent rows are read from. 0: forever.
	Retention time.Duration
}

// SharedTopics are the topics of no one pipeline: the audit log and,
// compacted on one partition, the reprocessor's state. (The client
// registry is created by package auth.)
func SharedTopics() []TopicSpec {
	return []TopicSpec{
		{Name: schemas.TopicAudit},
		{Name: schemas.TopicReprocessState, Partitions: 1, Compact: true},
	}
}

// EnsureTopics creates the topics of specs that are missing, with
// c.Partitions partitions unless a spec says otherwise; existing topics
// are left as they are. Its error wraps kerr.TopicAuthorizationFailed or
// kerr.ClusterAuthorizationFailed for a client not allowed to create
// topics (a registered worker relies on the admin having done it).
func (c Config) EnsureTopics(ctx context.Context, cl *kgo.Client, specs []TopicSpec) error {
	adm := kadm.NewClient(cl)
	rf, minISR, err := c.replication(ctx, adm)
	if err != nil {
		return err
	}
	var errs []error
	for _, s := range specs {
		n := s.Partitions
		if n == 0 {
			n = c.Partitions
		}
		configs := map[string]*string{"min.insync.replicas": kadm.StringPtr(strconv.Itoa(int(minISR)))}
		if s.Compact {
			configs["cleanup.policy"] = kadm.StringPtr("compact")
			if s.Retention > 0 {
				configs["cleanup.policy"] = kadm.StringPtr("compact,delete")
				configs["retention.ms"] = kadm.StringPtr(strconv.FormatInt(s.Retention.Milliseconds(), 10))
			}
		}
		resp, err := adm.CreateTopic(ctx, n, rf, configs, s.Name)
		if err == nil {
			err = resp.Err
		}
		if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			errs = append(errs, fmt.Errorf("create topic %s: %w", s.Name, err))
		}
	}
	return errors.Join(errs...)
}

// replication returns the replication factor and min.insync.replicas of
// new topics: c's, or derived from the number of brokers.
func (c Config) replication(ctx context.Context, adm *kadm.Client) (rf, minISR int16, err error) {
	rf, minISR = c.ReplicationFactor, c.MinInsyncReplicas
	if rf == 0 {
		brokers, err := adm.ListBrokers(ctx)
		if err != nil {
			return 0, 0, fmt.Errorf("count brokers: %w", err)
		}
		rf = int16(min(3, max(1, len(brokers))))
	}
	if minISR == 0 {
		minISR = max(1, rf-1)
	}
	return rf, minISR, nil
}
