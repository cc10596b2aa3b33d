package main

import (
	"context"
	"net"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/api"
	"github.com/rationhq/ration/internal/kafkaconn"
	"github.com/rationhq/ration/internal/obs"
	"github.com/rationhq/ration/producer"
	"github.com/rationhq/ration/sink"
)

func newAPICmd(g *globals) *cobra.Command {
	kafka := kafkaconn.Defaults()
	cfg := api.Defaults()
	chAddr, chDB := sink.DefaultConfig().ClickHouse, sink.DefaultConfig().Database
	cmd := &cobra.Command{
		Use:   "api",
		Short: "Serve the HTTP API: writes go to Kafka, reads come from ClickHouse",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAPI(cmd.Context(), g, kafka, cfg, chAddr, chDB)
		},
	}
	fs := cmd.Flags()
	kafka.Flags(fs)
	cfg.Flags(fs)
	fs.StringVar(&chAddr, "clickhouse", chAddr, "ClickHouse native host:port for reads")
	fs.StringVar(&chDB, "clickhouse-db", chDB, "ClickHouse database")
	return cmd
}

func runAPI(ctx context.Context, g *globals, kafka kafkaconn.Config, cfg api.Config, chAddr, chDB string) error {
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
	reader, err := sink.OpenReader(ctx, chAddr, chDB)
	if err != nil {
		return err
	}
	defer reader.Close()
	srv, err := api.New(cfg, api.Deps{DM: producer.NewDM(cl, codec), Reader: reader, Log: g.log, Registry: reg})
	if err != nil {
		return err
	}
	return srv.Run(ctx, func(a net.Addr) {
		g.log.Info("api ready", "addr", a.String())
	})
}
