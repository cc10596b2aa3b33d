package roles

import (
	"context"
	"fmt"
	"net"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/sync/errgroup"

	"github.com/rationhq/ration/api"
	"github.com/rationhq/ration/auth"
	"github.com/rationhq/ration/internal/buckets"
	"github.com/rationhq/ration/pipeline"
	"github.com/rationhq/ration/producer"
	"github.com/rationhq/ration/reprocess"
	"github.com/rationhq/ration/sink"
)

// APIConfig configures the HTTP API role.
type APIConfig struct {
	API api.Config
	// Store is where reads come from.
	Store sink.Target
	// Reprocess configures the runs asked for over HTTP.
	Reprocess reprocess.Config
	// ReprocessWorker names this process's reprocessor in its events.
	ReprocessWorker string
	// AdminKeyFile, if set, is made to hold a registered admin key:
	// created (mode 0600) unless it exists, registered unless it is.
	AdminKeyFile string
}

// API is the HTTP API role: the server, the client registry it follows,
// the bucket inspector, the reprocessor behind POST /v1/reprocess/runs and
// the dead-letter tools.
type API struct {
	env       *Env
	cfg       APIConfig
	cl        *kgo.Client
	reader    *sink.Reader
	clients   *auth.Registry
	follower  *auth.Follower
	store     *auth.Store
	inspector *buckets.Inspector
	reproc    *reprocess.Reprocessor
	srv       *api.Server
	tasks     api.Tasks
	closers   []func()
}

// NewAPI wires the API role; Run serves it, Close releases it.
func NewAPI(ctx context.Context, e *Env, cfg APIConfig) (_ *API, err error) {
	a := &API{env: e, cfg: cfg}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	// Every record the API produces has a request waiting on it, so it is
	// sent at once (franz-go lingers 10 ms by default): records that come
	// while a produce is in flight are batched into the next all the same.
	opts := append(e.Kafka.Opts(e.Log), kgo.ProducerLinger(0))
	if a.cl, err = kgo.NewClient(append(opts, e.Telemetry.ClientOpts("ration-api")...)...); err != nil {
		return nil, err
	}
	a.closers = append(a.closers, a.cl.Close)
	if err := auth.EnsureTopic(ctx, a.cl); err != nil {
		return nil, err
	}
	if a.reader, err = e.Reader(ctx, cfg.Store); err != nil {
		return nil, err
	}
	a.closers = append(a.closers, func() { _ = a.reader.Close() })
	dead, closeDead, err := e.DeadLetters()
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, closeDead)
	if a.reproc, err = e.Reprocessor(cfg.Reprocess, a.reader, cfg.ReprocessWorker); err != nil {
		return nil, err
	}
	if a.inspector, err = buckets.New(buckets.Config{Stages: bucketStages(e.Pipelines)},
		buckets.Deps{Kafka: e.Kafka.Opts(e.Log), Measured: e.Telemetry.ClientOpts("ration-buckets"), Log: e.Log, Registerer: e.Registry}); err != nil {
		return nil, err
	}
	a.closers = append(a.closers, a.inspector.Close)
	routes, err := routes(e.Pipelines, api.Backends{Kafka: a.cl, KafkaOpts: e.Kafka.Opts(e.Log), Codec: e.Codec, ClickHouse: a.reader.Conn(),
		Database: cfg.Store.Database, History: a.reader, Config: cfg.API, Log: e.Log, Registry: e.Registry, Tasks: &a.tasks})
	if err != nil {
		return nil, err
	}
	a.clients = auth.NewRegistry()
	a.follower = auth.NewFollower(a.clients, e.Codec, e.Log, e.Kafka.Opts(e.Log)...)
	a.store = auth.NewStore(a.clients, a.cl, e.Codec)
	a.srv, err = api.New(cfg.API, api.Deps{Routes: routes, Log: e.Log, Registry: e.Registry,
		Clients: a.clients, ClientStore: a.store, Workers: auth.KafkaWorkers(kadm.NewClient(a.cl), pipeline.Grants(e.Pipelines)),
		Audit: producer.NewAudit(a.cl, e.Codec, e.Log), AuditReader: a.reader,
		DeadLetters: dead, Reprocessor: a.reproc, Buckets: a.inspector})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Reprocessor is the reprocessor that runs the runs asked for over HTTP;
// `ration dev` also runs its schedule.
func (a *API) Reprocessor() *reprocess.Reprocessor { return a.reproc }

// Run follows the client registry and runs the routes' tasks and, once
// they have caught up (serving before would refuse valid keys, or valid
// receipts of a type just put) and the admin key file holds a registered
// key, serves until ctx ends; ready gets the bound address.
func (a *API) Run(ctx context.Context, ready func(net.Addr)) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.follower.Run(ctx) })
	g.Go(func() error { return a.inspector.Run(ctx) })
	g.Go(func() error { return a.tasks.Run(ctx) })
	g.Go(func() error {
		select {
		case <-a.follower.Ready():
		case <-ctx.Done():
			return nil
		}
		if err := a.tasks.Ready(ctx); err != nil {
			return nil // stopped while starting
		}
		if a.cfg.AdminKeyFile != "" {
			created, err := auth.EnsureAdminKey(ctx, a.store, a.cfg.AdminKeyFile, "admin")
			if err != nil {
				return fmt.Errorf("admin key: %w", err)
			}
			if created {
				a.env.Log.Info("created an admin API key; it is in the file (mode 0600), not in this log", "file", a.cfg.AdminKeyFile)
			} else {
				a.env.Log.Info("admin API key", "file", a.cfg.AdminKeyFile)
			}
		}
		return a.srv.Run(ctx, func(addr net.Addr) {
			a.env.Log.Info("api ready", "addr", addr.String(), "clients", a.clients.Len())
			if ready != nil {
				ready(addr)
			}
		})
	})
	return g.Wait()
}

// Close releases what NewAPI opened.
func (a *API) Close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	a.closers = nil
}
