package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/rationhq/ration/internal/kafkaconn"
	"github.com/rationhq/ration/internal/obs"
	"github.com/rationhq/ration/internal/roles"
	"github.com/rationhq/ration/pipeline"
	"github.com/rationhq/ration/pipelines"
	"github.com/rationhq/ration/processor"
)

func newWorkerCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "worker PIPELINE",
		Short: "Run a pipeline's workers against any Kafka: every stage, or --stage S",
	}
	for _, d := range pipelines.All() {
		cmd.AddCommand(newPipelineWorkerCmd(g, d))
	}
	return cmd
}

// newPipelineWorkerCmd is `ration worker <pipeline>`: one worker of each of
// the pipeline's stages (or of the named ones) in one process.
func newPipelineWorkerCmd(g *globals, d pipeline.Descriptor) *cobra.Command {
	kafka := kafkaconn.Defaults()
	tuning := processor.DefaultTuning()
	metricsAddr := "127.0.0.1:9103"
	var stages []string
	cmd := &cobra.Command{
		Use:   d.Name,
		Short: fmt.Sprintf("Run the %s pipeline's stages %v", d.Name, d.StageNames()),
		Long: fmt.Sprintf(`Joins the consumer group of each stage of the %[1]s pipeline (%[2]v; or of each
--stage) and processes the buckets it owns: group ration.%[1]s.<stage>,
transactional ids ration.%[1]s.<stage>.<instance id>. A worker restarted with
the same --instance-id within --session-timeout gets its buckets back; a
graceful stop hands them over at once.

Against a broker with SASL and ACLs (ration's own, or a real Kafka set up as
in the README) the worker logs in as the Kafka user it was registered with
(ration clients add NAME --worker --pipeline %[1]s): --kafka-user worker-NAME,
and the password in RATION_KAFKA_PASSWORD. It may then only read and write
its pipeline's topics and use transactional ids under ration.%[1]s.

Several workers on one host need distinct --instance-id values; their
metrics listen on --metrics, or on a free port when the default is taken.`, d.Name, d.StageNames()),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runWorker(cmd.Context(), g, d, kafka, tuning, stages, metricsAddr, metricsOpts(cmd, g.log)...)
		},
	}
	fs := cmd.Flags()
	kafka.Flags(fs)
	tuning.Flags(fs)
	if d.Options != nil {
		d.Options.Flags(fs)
	}
	fs.StringSliceVar(&stages, "stage", nil, fmt.Sprintf("run only these stages (of %v; default: all)", d.StageNames()))
	fs.StringVar(&metricsAddr, "metrics", metricsAddr, "address of /metrics and /healthz (empty: none)")
	return service(cmd)
}

func runWorker(ctx context.Context, g *globals, d pipeline.Descriptor, kafka kafkaconn.Config, t processor.Tuning,
	stages []string, metricsAddr string, metrics ...obs.Opt) error {
	reg := obs.NewRegistry()
	d = d.WithRetryDelays(t.RetryDelays)
	env, err := roles.NewEnv(ctx, kafka, []pipeline.Descriptor{d}, g.log, reg)
	if err != nil {
		return err
	}
	ws, err := env.Workers(d.Name, stages, t)
	if err != nil {
		return err
	}
	grp, ctx := errgroup.WithContext(ctx)
	for _, w := range ws {
		grp.Go(func() error { return w.Run(ctx) })
	}
	grp.Go(func() error { return obs.Serve(ctx, metricsAddr, reg, nil, metrics...) })
	if err := grp.Wait(); err != nil {
		return fmt.Errorf("%s worker: %w", d.Name, err)
	}
	return nil
}
