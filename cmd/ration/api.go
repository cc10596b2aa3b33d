package main

import (
	"context"
	"os"

	"github.com/spf13/cobra"

	"github.com/rationhq/ration/api"
	"github.com/rationhq/ration/internal/kafkaconn"
	"github.com/rationhq/ration/internal/obs"
	"github.com/rationhq/ration/internal/roles"
	"github.com/rationhq/ration/pipelines"
	"github.com/rationhq/ration/reprocess"
	"github.com/rationhq/ration/sink"
)

func newAPICmd(g *globals) *cobra.Command {
	kafka := kafkaconn.Defaults()
	cfg := roles.APIConfig{API: api.Defaults(), Store: sink.DefaultTarget(), Reprocess: reprocess.DefaultConfig()}
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
reprocess.* and notify.* settings given here.

GET /v1/pipelines (and ration pipelines) shows every stage's buckets, their
owners, lag and drain time, from a sample of Kafka this process takes every
5 s.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAPI(cmd.Context(), g, kafka, cfg)
		},
	}
	fs := cmd.Flags()
	kafka.Flags(fs)
	cfg.API.Flags(fs)
	cfg.Store.Flags(fs)
	fs.StringVar(&cfg.AdminKeyFile, "bootstrap-admin-key-file", "", "make sure this file holds a registered admin API key (created, mode 0600, if missing)")
	cfg.Reprocess.Flags(fs)
	return service(cmd)
}

func runAPI(ctx context.Context, g *globals, kafka kafkaconn.Config, cfg roles.APIConfig) error {
	env, err := roles.NewEnv(ctx, kafka, pipelines.All(), g.log, obs.NewRegistry())
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	cfg.ReprocessWorker = "reprocessor@" + host
	a, err := roles.NewAPI(ctx, env, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	return a.Run(ctx, nil)
}
