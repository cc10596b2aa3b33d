// Package kafkaconn holds the settings every role needs to reach Kafka and
// the schema registry, and the start-up steps they share: client options,
// topic creation and schema registration.
package kafkaconn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

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
	return nil
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

// Codec registers every schema and returns the codec for them.
func (c Config) Codec(ctx context.Context) (*schemas.Codec, error) {
	cl, err := c.RegistryClient()
	if err != nil {
		return nil, err
	}
	return schemas.Register(ctx, cl)
}

// EnsureTopics creates every ration topic that does not exist yet, with
// c.Partitions partitions: the Avro topics, the dead-letter and parked
// topics and the default delay tiers of the DM stage; compacted, the
// changelogs of the DM inputs (as many partitions as their inputs) and
// the reprocessor's state (one partition). Existing topics are left as
// they are.
func (c Config) EnsureTopics(ctx context.Context, cl *kgo.Client) error {
	adm := kadm.NewClient(cl)
	plain := append(schemas.Topics(), schemas.DeadLetterTopics()...)
	plain = append(plain, schemas.TopicDMParked)
	plain = append(plain, schemas.DMDelayTopics(DefaultDelayTiers)...)
	compact := map[string]*string{"cleanup.policy": kadm.StringPtr("compact")}
	creates := []struct {
		partitions int32
		configs    map[string]*string
		topics     []string
	}{
		{c.Partitions, nil, plain},
		{c.Partitions, compact, []string{schemas.BlockedTopic(schemas.TopicDMChecks), schemas.BlockedTopic(schemas.TopicDMChecksHigh)}},
		{1, compact, []string{schemas.TopicReprocessState}},
	}
	for _, cr := range creates {
		resps, err := adm.CreateTopics(ctx, cr.partitions, -1, cr.configs, cr.topics...)
		if err != nil {
			return fmt.Errorf("create topics: %w", err)
		}
		for _, r := range resps.Sorted() {
			if r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
				return fmt.Errorf("create topic %s: %w", r.Topic, r.Err)
			}
		}
	}
	return nil
}

// DefaultDelayTiers is how many delay tiers EnsureTopics creates for the
// DM stage: its default delays (1s, 10s, 60s). A worker configured with
// more tiers creates the others itself, or the admin does.
const DefaultDelayTiers = 3
