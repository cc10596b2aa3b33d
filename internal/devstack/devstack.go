// Package devstack runs every role of ration in one process on embedded
// defaults: the kfake broker with its schema registry, a local ClickHouse
// server (or an external one), the sink, the HTTP API and the DM workers
// with the built-in checker simulator. `ration dev` and end-to-end tests
// use it; every part is the same code the separate roles run.
package devstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/sync/errgroup"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/api"
	"github.com/rationhq/ration/auth"
	"github.com/rationhq/ration/broker"
	"github.com/rationhq/ration/internal/chserver"
	"github.com/rationhq/ration/internal/kafkaconn"
	"github.com/rationhq/ration/internal/obs"
	"github.com/rationhq/ration/notify"
	"github.com/rationhq/ration/processor"
	"github.com/rationhq/ration/processor/deadletter"
	"github.com/rationhq/ration/processor/dmcheck"
	"github.com/rationhq/ration/producer"
	"github.com/rationhq/ration/reprocess"
	"github.com/rationhq/ration/schemas"
	"github.com/rationhq/ration/sink"
)

// Config configures the whole stack.
type Config struct {
	// DataDir holds Kafka's log, the registry's ports, and the local
	// ClickHouse server's data. Required: a restart on the same directory
	// keeps every topic, offset, schema and table.
	DataDir string
	// Broker is the embedded broker's config; its DataDir is set from
	// DataDir.
	Broker broker.Config
	// ClickHouse is an external server's native host:port. Empty (the
	// default) starts a local clickhouse-server under DataDir/clickhouse.
	ClickHouse string
	// Partitions of the topics ration creates. Default 12.
	Partitions int32
	// API is the HTTP API's config.
	API api.Config
	// Sink is the ClickHouse sink's config; its Addr is set from the
	// ClickHouse server in use.
	Sink sink.Config
	// Workers is the number of DM workers. Default 2.
	Workers int
	// DM configures every DM worker; instance ids are dev-0, dev-1, ...
	DM dmcheck.Config
	// Reprocess configures the reprocessor, which runs on its schedule
	// and for POST /v1/reprocess/runs.
	Reprocess reprocess.Config
}

// DefaultConfig returns the defaults of `ration dev`.
func DefaultConfig() Config {
	return Config{
		Broker:     broker.DefaultConfig(),
		Partitions: 12,
		API:        api.Defaults(),
		Sink:       sink.DefaultConfig(),
		Workers:    2,
		DM:         dmcheck.DefaultConfig(),
		Reprocess:  reprocess.DefaultConfig(),
	}
}

// Addrs are where the running stack listens.
type Addrs struct {
	API        string // http://host:port
	Kafka      string // host:port
	Registry   string // http://host:port
	ClickHouse string // native host:port
}

// ReadyLine is the one line `ration dev` prints when everything is up.
func (a Addrs) ReadyLine() string {
	return fmt.Sprintf("ration ready api=%s kafka=%s registry=%s clickhouse=%s", a.API, a.Kafka, a.Registry, a.ClickHouse)
}

// Run starts the stack, calls ready once every part is up, and runs until
// ctx ends; it then stops the parts in reverse order and returns.
func Run(ctx context.Context, cfg Config, log *slog.Logger, ready func(Addrs)) (err error) {
	if cfg.DataDir == "" {
		return errors.New("dev: a data dir is required")
	}
	if cfg.Workers < 0 {
		return fmt.Errorf("dev: workers %d < 0", cfg.Workers)
	}
	var addrs Addrs

	cfg.Broker.DataDir = filepath.Join(cfg.DataDir, "broker")
	cfg.Broker.Partitions = cfg.Partitions
	cfg.Broker.Log = log.With("component", "broker")
	b, err := broker.Start(ctx, cfg.Broker)
	if err != nil {
		return fmt.Errorf("dev: broker: %w", err)
	}
	defer closeLogged(log, "broker", b.Close)
	addrs.Kafka, addrs.Registry = b.KafkaAddr(), b.RegistryURL()

	addrs.ClickHouse = cfg.ClickHouse
	if addrs.ClickHouse == "" {
		ch, err := chserver.Start(ctx, chserver.Config{Dir: filepath.Join(cfg.DataDir, "clickhouse"), Log: log.With("component", "clickhouse")})
		if err != nil {
			return fmt.Errorf("dev: clickhouse: %w", err)
		}
		defer closeLogged(log, "clickhouse", ch.Stop)
		addrs.ClickHouse = ch.Addr()
	}

	kafka := b.KafkaConn()
	kafka.Partitions = cfg.Partitions
	reg := obs.NewRegistry()
	tel := kafkaconn.NewTelemetry(reg)
	codec, err := kafka.Codec(ctx)
	if err != nil {
		return fmt.Errorf("dev: schemas: %w", err)
	}
	admin, err := kgo.NewClient(append(kafka.Opts(log), tel.ClientOpts("ration-dev-producer")...)...)
	if err != nil {
		return err
	}
	defer admin.Close()
	if err := kafka.EnsureTopics(ctx, admin); err != nil {
		return fmt.Errorf("dev: topics: %w", err)
	}
	clients, stopFollower, err := startClientRegistry(ctx, cfg.DataDir, admin, kafka, codec, log)
	if err != nil {
		return err
	}
	defer stopFollower()

	cfg.Sink.ClickHouse = addrs.ClickHouse
	snk, err := sink.New(cfg.Sink, kafka, codec, log, reg)
	if err != nil {
		return fmt.Errorf("dev: sink: %w", err)
	}
	reader, err := sink.OpenReader(ctx, addrs.ClickHouse, cfg.Sink.Database)
	if err != nil {
		return fmt.Errorf("dev: reader: %w", err)
	}
	defer closeLogged(log, "reader", reader.Close)

	workers, err := newWorkers(cfg, kafka, tel, codec, log, reg)
	if err != nil {
		return err
	}
	dead, err := deadletter.New(kafka.Opts(log), schemas.TopicDMDead)
	if err != nil {
		return err
	}
	defer dead.Close()
	parked, err := deadletter.New(kafka.Opts(log), schemas.TopicDMParked)
	if err != nil {
		return err
	}
	defer parked.Close()
	notifier, err := notify.New(cfg.Reprocess.Notify, log)
	if err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	reproc, err := reprocess.New(cfg.Reprocess, reprocess.Deps{Kafka: kafka.Opts(log), Codec: codec, Items: reader,
		Notifier: notifier, Log: log, Worker: "reprocessor@dev", Metrics: reprocess.NewMetrics(reg)})
	if err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	srv, err := api.New(cfg.API, api.Deps{DM: producer.NewDM(admin, codec), Reader: reader, Log: log, Registry: reg,
		Clients: clients.Registry(), ClientStore: clients, Workers: auth.KafkaWorkers(kadm.NewClient(admin)),
		Audit: producer.NewAudit(admin, codec, log), AuditReader: reader, History: reader,
		DeadLetters: map[string]ration.DeadLetters{schemas.PipelineDM: dead, schemas.PipelineDM + api.ParkedSuffix: parked},
		Reprocessor: reproc})
	if err != nil {
		return err
	}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return snk.Run(gctx) })
	g.Go(func() error { return reproc.Serve(gctx) })
	for _, w := range workers {
		g.Go(func() error { return w.Run(gctx) })
	}
	g.Go(func() error {
		return srv.Run(gctx, func(a net.Addr) {
			addrs.API = "http://" + a.String()
			if ready != nil {
				ready(addrs)
			}
		})
	})
	return g.Wait()
}

// AdminKeyFile is where, under the data dir, `ration dev` keeps the admin
// API key it creates on first start.
const AdminKeyFile = "admin.key"

// startClientRegistry follows the client registry until stop is called,
// waits until it caught up, and makes sure DataDir/admin.key holds an
// admin key (created on first start, reused after).
func startClientRegistry(ctx context.Context, dataDir string, cl *kgo.Client, kafka kafkaconn.Config,
	codec *schemas.Codec, log *slog.Logger) (*auth.Store, func(), error) {
	if err := auth.EnsureTopic(ctx, cl); err != nil {
		return nil, nil, fmt.Errorf("dev: %w", err)
	}
	reg := auth.NewRegistry()
	f := auth.NewFollower(reg, codec, log, kafka.Opts(log)...)
	fctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- f.Run(fctx) }()
	stop := func() {
		cancel()
		if err := <-done; err != nil {
			log.Error("client registry follower", "err", err)
		}
	}
	select {
	case <-f.Ready():
	case <-ctx.Done():
		stop()
		return nil, nil, ctx.Err()
	}
	store := auth.NewStore(reg, cl, codec)
	path := filepath.Join(dataDir, AdminKeyFile)
	created, err := auth.EnsureAdminKey(ctx, store, path, "admin")
	if err != nil {
		stop()
		return nil, nil, fmt.Errorf("dev: %w", err)
	}
	if created {
		log.Info("created an admin API key; it is in the file (mode 0600), not in this log", "file", path)
	} else {
		log.Info("admin API key", "file", path)
	}
	return store, stop, nil
}

func newWorkers(cfg Config, kafka kafkaconn.Config, tel *kafkaconn.Telemetry, codec *schemas.Codec, log *slog.Logger, reg prometheus.Registerer) ([]*processor.Stage, error) {
	stageMetrics := processor.NewMetrics(reg)
	dmMetrics := dmcheck.NewMetrics(reg)
	workers := make([]*processor.Stage, 0, cfg.Workers)
	for i := range cfg.Workers {
		wc := cfg.DM
		wc.Stage.InstanceID = fmt.Sprintf("dev-%d", i)
		deps := processor.Deps{
			Kafka:    kafka.Opts(log),
			Measured: tel.ClientOpts("ration-dmcheck-" + wc.Stage.InstanceID),
			Log:      log,
			Metrics:  stageMetrics,
		}
		w, err := dmcheck.NewWorker(wc, codec, deps, dmMetrics)
		if err != nil {
			return nil, fmt.Errorf("dev: worker %d: %w", i, err)
		}
		workers = append(workers, w)
	}
	return workers, nil
}

func closeLogged(log *slog.Logger, what string, close func() error) {
	start := time.Now()
	if err := close(); err != nil {
		log.Error("stopping "+what, "err", err)
		return
	}
	log.Debug("stopped "+what, "took", time.Since(start))
}
