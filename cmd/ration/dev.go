package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/rationhq/ration/internal/devstack"
)

func newDevCmd(g *globals) *cobra.Command {
	cfg := devstack.DefaultConfig()
	cfg.DataDir = ".data/dev"
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run the whole system in one process on embedded defaults",
		Long: `Starts the embedded Kafka broker and schema registry, a local ClickHouse
server (or uses --clickhouse HOST:PORT), the sink, the HTTP API and --workers
DM workers with the built-in checker simulator (or --checker-url). When all
is up it prints one line:

  ration ready api=http://HOST:PORT kafka=HOST:PORT registry=http://HOST:PORT clickhouse=HOST:PORT

Ctrl-C stops it cleanly; a restart on the same --data-dir keeps every topic,
offset, schema and table.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return devstack.Run(cmd.Context(), cfg, g.log, func(a devstack.Addrs) {
				fmt.Fprintln(os.Stdout, a.ReadyLine())
			})
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "where Kafka, the registry and ClickHouse keep their data")
	fs.StringVar(&cfg.API.Addr, "http", cfg.API.Addr, "HTTP API listen address")
	fs.StringVar(&cfg.Broker.KafkaAddr, "kafka", cfg.Broker.KafkaAddr, "embedded Kafka listen address (port 0: a free port, kept across restarts)")
	fs.StringVar(&cfg.Broker.RegistryAddr, "registry", cfg.Broker.RegistryAddr, "embedded schema registry listen address")
	fs.StringVar(&cfg.ClickHouse, "clickhouse", cfg.ClickHouse, "external ClickHouse native HOST:PORT (default: start a local clickhouse-server)")
	fs.Int32Var(&cfg.Partitions, "partitions", cfg.Partitions, "partitions (buckets) of every topic")
	fs.IntVar(&cfg.Workers, "workers", cfg.Workers, "DM workers")
	fs.StringVar(&cfg.DM.CheckerURL, "checker-url", cfg.DM.CheckerURL, "HTTP checker URL template with {user_id} (default: built-in simulator)")
	fs.DurationVar(&cfg.DM.SimLatency, "sim-latency", cfg.DM.SimLatency, "latency of the built-in simulator")
	fs.Float64Var(&cfg.DM.SimErrorRate, "sim-error-rate", cfg.DM.SimErrorRate, "error rate (0..1) of the built-in simulator")
	fs.DurationVar(&cfg.DM.Stage.SessionTimeout, "session-timeout", cfg.DM.Stage.SessionTimeout, "time after which a silent worker's buckets move")
	fs.IntVar(&cfg.DM.Stage.Concurrency, "concurrency", cfg.DM.Stage.Concurrency, "keys checked at once per worker")
	fs.IntVar(&cfg.Sink.BatchRows, "batch-rows", cfg.Sink.BatchRows, "sink: rows per ClickHouse insert")
	fs.DurationSliceVar(&cfg.DM.Stage.Retry.Delays, "retry-delays", cfg.DM.Stage.Retry.Delays, "delay tiers of failed checks; after the last the item is parked")
	cfg.Reprocess.Flags(fs)
	fs.DurationVar(&cfg.Sink.FlushInterval, "flush-interval", cfg.Sink.FlushInterval, "sink: longest wait before a partial batch is inserted")
	return cmd
}
