package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/rationhq/ration/internal/kafkaconn"
	"github.com/rationhq/ration/internal/obs"
	"github.com/rationhq/ration/processor"
	"github.com/rationhq/ration/processor/dmcheck"
)

func newWorkerCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run a pipeline worker against any Kafka",
	}
	cmd.AddCommand(newWorkerDMCheckCmd(g))
	return cmd
}

func newWorkerDMCheckCmd(g *globals) *cobra.Command {
	kafka := kafkaconn.Defaults()
	cfg := dmcheck.DefaultConfig()
	metricsAddr := "127.0.0.1:9103"
	cmd := &cobra.Command{
		Use:   "dmcheck",
		Short: "Check users' open DMs: consume marks, write results and status events",
		Long: `Joins the dmcheck consumer group and checks the users of the buckets it owns.
A worker restarted with the same --instance-id within --session-timeout gets
its buckets back; a graceful stop hands them over at once.

Against a broker with SASL and ACLs (ration's own, or a real Kafka set up as
in the README) the worker logs in as the Kafka user it was registered with:
--kafka-user worker-NAME, and the password in RATION_KAFKA_PASSWORD. It may
then only read its input topics and group, write its outputs and use
transactional ids under ration.dmcheck.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDMWorker(cmd.Context(), g, kafka, cfg, metricsAddr, metricsOpts(cmd, g.log)...)
		},
	}
	fs := cmd.Flags()
	kafka.Flags(fs)
	cfg.Flags(fs)
	fs.StringVar(&metricsAddr, "metrics", metricsAddr, "address of /metrics and /healthz (empty: none)")
	return cmd
}

func runDMWorker(ctx context.Context, g *globals, kafka kafkaconn.Config, cfg dmcheck.Config, metricsAddr string, metrics ...obs.Opt) error {
	if err := kafka.Validate(); err != nil {
		return err
	}
	reg := obs.NewRegistry()
	tel := kafkaconn.NewTelemetry(reg)
	codec, err := kafka.Codec(ctx)
	if err != nil {
		return err
	}
	if err := ensureTopics(ctx, kafka, g); err != nil {
		return err
	}
	deps := processor.Deps{
		Kafka:    kafka.Opts(g.log),
		Measured: tel.ClientOpts("ration-dmcheck-" + cfg.Stage.InstanceID),
		Log:      g.log,
		Metrics:  processor.NewMetrics(reg),
	}
	w, err := dmcheck.NewWorker(cfg, codec, deps, dmcheck.NewMetrics(reg))
	if err != nil {
		return err
	}
	grp, ctx := errgroup.WithContext(ctx)
	grp.Go(func() error { return w.Run(ctx) })
	grp.Go(func() error { return obs.Serve(ctx, metricsAddr, reg, nil, metrics...) })
	if err := grp.Wait(); err != nil {
		return fmt.Errorf("dmcheck worker: %w", err)
	}
	return nil
}
