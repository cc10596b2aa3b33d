// Package devstack runs every role of ration in one process on embedded
// defaults: the kfake broker with its schema registry, a local ClickHouse
// server (or an external one), the sink, the HTTP API, the reprocessor
// and every pipeline's workers. `ration dev` and end-to-end tests use it;
// every part is wired by package roles, as the separate roles are.
package devstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/rationhq/ration/api"
	"github.com/rationhq/ration/broker"
	"github.com/rationhq/ration/internal/chserver"
	"github.com/rationhq/ration/internal/obs"
	"github.com/rationhq/ration/internal/roles"
	"github.com/rationhq/ration/pipeline"
	"github.com/rationhq/ration/pipelines"
	"github.com/rationhq/ration/processor"
	"github.com/rationhq/ration/reprocess"
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
	// Pipelines are the pipelines the stack runs, their options bound to
	// flags. Default: every pipeline (pipelines.All).
	Pipelines []pipeline.Descriptor
	// Workers is the number of workers of each pipeline, each running
	// every stage; instance ids are dev-0, dev-1, ... Default 2.
	Workers int
	// Tuning tunes every worker.
	Tuning processor.Tuning
	// Reprocess configures the reprocessor, which runs on its schedule
	// and for POST /v1/reprocess/runs.
	Reprocess reprocess.Config
	// FlagSet reports whether a flag was given (`ration dev`'s); a
	// pipeline's outside services whose flags were not are run simulated
	// (pipeline.Simulated). Nil: none was.
	FlagSet func(flag string) bool
}

// DefaultConfig returns the defaults of `ration dev`.
func DefaultConfig() Config {
	return Config{
		Broker:     broker.DefaultConfig(),
		Partitions: 12,
		API:        api.Defaults(),
		Sink:       sink.DefaultConfig(),
		Pipelines:  pipelines.All(),
		Workers:    2,
		Tuning:     processor.DefaultTuning(),
		Reprocess:  reprocess.DefaultConfig(),
	}
}

// Addrs are where the running stack listens.
type Addrs struct {
	API        string // http://host:port
	Kafka      string // host:port
	Registry   string // http://host:port
	ClickHouse string // native host:port
	// Services are the pipelines' outside services, "name=URL" (tax=...),
	// simulated unless named by flags.
	Services []string
}

// ReadyLine is the one line `ration dev` prints when everything is up.
func (a Addrs) ReadyLine() string {
	line := fmt.Sprintf("ration ready api=%s kafka=%s registry=%s clickhouse=%s", a.API, a.Kafka, a.Registry, a.ClickHouse)
	for _, s := range a.Services {
		line += " " + s
	}
	return line
}

// AdminKeyFile is where, under the data dir, `ration dev` keeps the admin
// API key it creates on first start.
const AdminKeyFile = "admin.key"

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

	for _, d := range cfg.Pipelines {
		sim, ok := d.Options.(pipeline.Simulated)
		if !ok {
			continue
		}
		urls, stop, err := sim.Simulate(cfg.FlagSet, log.With("component", "simulator", "pipeline", d.Name))
		if err != nil {
			return fmt.Errorf("dev: %s's services: %w", d.Name, err)
		}
		defer stop()
		addrs.Services = append(addrs.Services, urls...)
	}

	kafka := b.KafkaConn()
	kafka.Partitions = cfg.Partitions
	ds := make([]pipeline.Descriptor, len(cfg.Pipelines))
	for i, d := range cfg.Pipelines {
		ds[i] = d.WithRetryDelays(cfg.Tuning.RetryDelays)
	}
	env, err := roles.NewEnv(ctx, kafka, ds, log, obs.NewRegistry())
	if err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	cfg.Sink.ClickHouse = addrs.ClickHouse
	snk, err := env.Sink(cfg.Sink)
	if err != nil {
		return fmt.Errorf("dev: sink: %w", err)
	}
	srv, err := roles.NewAPI(ctx, env, roles.APIConfig{API: cfg.API, Store: cfg.Sink.Target,
		Reprocess: cfg.Reprocess, ReprocessWorker: "reprocessor@dev", AdminKeyFile: filepath.Join(cfg.DataDir, AdminKeyFile)})
	if err != nil {
		return fmt.Errorf("dev: api: %w", err)
	}
	defer srv.Close()
	var workers []*processor.Stage
	for _, d := range cfg.Pipelines {
		for i := range cfg.Workers {
			t := cfg.Tuning
			t.InstanceID = fmt.Sprintf("dev-%d", i)
			ws, err := env.Workers(d.Name, nil, t)
			if err != nil {
				return fmt.Errorf("dev: %w", err)
			}
			workers = append(workers, ws...)
		}
	}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return snk.Run(gctx) })
	g.Go(func() error { return srv.Reprocessor().Serve(gctx) })
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

func closeLogged(log *slog.Logger, what string, close func() error) {
	start := time.Now()
	if err := close(); err != nil {
		log.Error("stopping "+what, "err", err)
		return
	}
	log.Debug("stopped "+what, "took", time.Since(start))
}
