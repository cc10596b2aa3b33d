package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/rationhq/ration/internal/kafkaconn"
	"github.com/rationhq/ration/internal/obs"
	"github.com/rationhq/ration/internal/roles"
	"github.com/rationhq/ration/pipelines"
	"github.com/rationhq/ration/sink"
)

func newSinkCmd(g *globals) *cobra.Command {
	kafka := kafkaconn.Defaults()
	cfg := sink.DefaultConfig()
	metricsAddr := "127.0.0.1:9102"
	cmd := &cobra.Command{
		Use:   "sink",
		Short: "Store every pipeline's topics in ClickHouse",
		Long: `Consumes every pipeline's topics (read_committed) and inserts the records into
ClickHouse in batches of --batch-rows or every --flush-interval, committing
offsets only after the rows are stored. Creates the database and applies the
migrations at start-up, and waits for ClickHouse if it is not up yet.

Prints "ration sink ready metrics=HOST:PORT" on stdout once /metrics is
served (metrics= is empty with --metrics '').`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSink(cmd.Context(), g, kafka, cfg, metricsAddr, metricsOpts(cmd, g.log)...)
		},
	}
	fs := cmd.Flags()
	kafka.Flags(fs)
	cfg.Flags(fs)
	fs.StringVar(&metricsAddr, "metrics", metricsAddr, "address of /metrics and /healthz (empty: none)")
	return service(cmd)
}

func runSink(ctx context.Context, g *globals, kafka kafkaconn.Config, cfg sink.Config, metricsAddr string, metrics ...obs.Opt) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	reg := obs.NewRegistry()
	env, err := roles.NewEnv(ctx, kafka, pipelines.All(), g.log, reg)
	if err != nil {
		return err
	}
	s, err := env.Sink(cfg)
	if err != nil {
		return err
	}
	return runRole(ctx, "sink", metricsAddr, reg, s.Run, metrics...)
}
