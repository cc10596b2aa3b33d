package main

import (
	"context"
	"net"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/sync/errgroup"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/api"
	"github.com/rationhq/ration/auth"
	"github.com/rationhq/ration/internal/kafkaconn"
	"github.com/rationhq/ration/internal/obs"
	"github.com/rationhq/ration/processor/deadletter"
	"github.com/rationhq/ration/producer"
	"github.com/rationhq/ration/reprocess"
	"github.com/rationhq/ration/schemas"
	"github.com/rationhq/ration/sink"
)

func newAPICmd(g *globals) *cobra.Command {
	kafka := kafkaconn.Defaults()
	cfg := api.Defaults()
	chAddr, chDB := sink.DefaultConfig().ClickHouse, sink.DefaultConfig().Database
	rp := reprocess.DefaultConfig()
	var adminKeyFile string
	cmd := &cobra.Command{
		Use:   "api",
		Short: "Serve the HTTP API: writes go to Kafka, reads come from ClickHouse",
		Long: `Serves the HTTP API. Every route but /healthz and /metrics needs an API key
of a client registered in Kafka (topic ration.clients). To create the first
admin key against a fresh Kafka, start one API process with
--bootstrap-admin-key-file PATH: it writes a new admin key to PATH (mode
0600) unless PATH exists, and registers PATH's key as client "admin" if the
registry lacks it. Then register other clients with ration clients add.
Registering workers (ration clients add NAME --worker) creates their Kafka
SCRAM users and ACLs with this process's Kafka user, which must be allowed
to alter the cluster (a super user).

POST /v1/reprocess/runs runs the reprocessor in this process, with the
reprocess.* and notify.* settings given here.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAPI(cmd.Context(), g, kafka, cfg, rp, chAddr, chDB, adminKeyFile)
		},
	}
	fs := cmd.Flags()
	kafka.Flags(fs)
	cfg.Flags(fs)
	fs.StringVar(&chAddr, "clickhouse", chAddr, "ClickHouse native host:port for reads")
	fs.StringVar(&chDB, "clickhouse-db", chDB, "ClickHouse database")
	fs.StringVar(&adminKeyFile, "bootstrap-admin-key-file", "", "make sure this file holds a registered admin API key (created, mode 0600, if missing)")
	rp.Flags(fs)
	return cmd
}

func runAPI(ctx context.Context, g *globals, kafka kafkaconn.Config, cfg api.Config, rp reprocess.Config, chAddr, chDB, adminKeyFile string) error {
	if err := kafka.Validate(); err != nil {
		return err
	}
	reg := obs.NewRegistry()
	tel := kafkaconn.NewTelemetry(reg)
	codec, err := kafka.Codec(ctx)
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(append(kafka.Opts(g.log), tel.ClientOpts("ration-api")...)...)
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := kafka.EnsureTopics(ctx, cl); err != nil {
		return err
	}
	if err := auth.EnsureTopic(ctx, cl); err != nil {
		return err
	}
	reader, err := sink.OpenReader(ctx, chAddr, chDB)
	if err != nil {
		return err
	}
	defer reader.Close()
	dead, err := deadletter.New(kafka.Opts(g.log), schemas.TopicDMDead)
	if err != nil {
		return err
	}
	defer dead.Close()
	parked, err := deadletter.New(kafka.Opts(g.log), schemas.TopicDMParked)
	if err != nil {
		return err
	}
	defer parked.Close()
	reprocessor, err := newReprocessor(kafka, rp, codec, reader, g.log, reg)
	if err != nil {
		return err
	}
	clients := auth.NewRegistry()
	follower := auth.NewFollower(clients, codec, g.log, kafka.Opts(g.log)...)
	store := auth.NewStore(clients, cl, codec)
	srv, err := api.New(cfg, api.Deps{DM: producer.NewDM(cl, codec), Reader: reader, Log: g.log, Registry: reg,
		Clients: clients, ClientStore: store, Workers: auth.KafkaWorkers(kadm.NewClient(cl)),
		Audit: producer.NewAudit(cl, codec, g.log), AuditReader: reader, History: reader,
		DeadLetters: map[string]ration.DeadLetters{schemas.PipelineDM: dead, schemas.PipelineDM + api.ParkedSuffix: parked},
		Reprocessor: reprocessor})
	if err != nil {
		return err
	}
	eg, ectx := errgroup.WithContext(ctx)
	eg.Go(func() error { return follower.Run(ectx) })
	eg.Go(func() error {
		// Serving before the registry caught up would refuse valid keys.
		select {
		case <-follower.Ready():
		case <-ectx.Done():
			return nil
		}
		if adminKeyFile != "" {
			created, err := auth.EnsureAdminKey(ectx, store, adminKeyFile, "admin")
			if err != nil {
				return err
			}
			g.log.Info("admin API key", "file", adminKeyFile, "created", created)
		}
		return srv.Run(ectx, func(a net.Addr) {
			g.log.Info("api ready", "addr", a.String(), "clients", clients.Len())
		})
	})
	return eg.Wait()
}
