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
	var cpuProfile string
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run the whole system in one process on embedded defaults",
		Long: `Starts the embedded Kafka broker and schema registry, a local ClickHouse
server (or uses --clickhouse HOST:PORT), the sink, the HTTP API, the
reprocessor and --workers workers of every pipeline (each running every
stage of its pipeline), the DM pipeline with the built-in checker simulator
(or --checker-url), and the receipts pipeline with simulated tax and
logistics services (or --tax-url, --logistics-url). When all is up it
prints one line:

  ration ready api=http://HOST:PORT kafka=HOST:PORT registry=http://HOST:PORT clickhouse=HOST:PORT tax=http://HOST:PORT logistics=http://HOST:PORT

Ctrl-C stops it cleanly; a restart on the same --data-dir keeps every topic,
offset, schema and table.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.FlagSet = cmd.Flags().Changed
			stop, err := profileCPU(cpuProfile)
			if err != nil {
				return err
			}
			defer stop()
			return devstack.Run(cmd.Context(), cfg, g.log, func(a devstack.Addrs) {
				fmt.Fprintln(os.Stdout, a.ReadyLine())
			})
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file (for benchmarks)")
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "where Kafka, the registry and ClickHouse keep their data")
	cfg.API.Flags(fs)
	fs.StringVar(&cfg.Broker.KafkaAddr, "kafka", cfg.Broker.KafkaAddr, "embedded Kafka listen address (port 0: a free port, kept across restarts)")
	fs.StringVar(&cfg.Broker.RegistryAddr, "registry", cfg.Broker.RegistryAddr, "embedded schema registry listen address")
	fs.StringVar(&cfg.ClickHouse, "clickhouse", cfg.ClickHouse, "external ClickHouse native HOST:PORT (default: start a local clickhouse-server)")
	fs.Int32Var(&cfg.Partitions, "partitions", cfg.Partitions, "partitions (buckets) of every topic")
	fs.BoolVar(&cfg.Broker.SyncWrites, "sync-writes", cfg.Broker.SyncWrites, "embedded Kafka: fsync every produced batch (slower; survives a machine crash)")
	fs.IntVar(&cfg.Broker.Brokers, "brokers", 1, "embedded Kafka brokers (partition leaders spread over them; topics get a replication factor of up to 3)")
	fs.IntVar(&cfg.Workers, "workers", cfg.Workers, "workers of each pipeline")
	for _, d := range cfg.Pipelines {
		if d.Options != nil {
			d.Options.Flags(fs)
		}
	}
	fs.DurationVar(&cfg.Tuning.SessionTimeout, "session-timeout", cfg.Tuning.SessionTimeout, "time after which a silent worker's buckets move")
	fs.IntVar(&cfg.Tuning.Concurrency, "concurrency", cfg.Tuning.Concurrency, "keys processed at once per worker and stage")
	fs.DurationVar(&cfg.Tuning.BatchLinger, "batch-linger", cfg.Tuning.BatchLinger, "how long a short batch waits for more records (larger transactions, later records)")
	fs.IntVar(&cfg.Sink.BatchRows, "batch-rows", cfg.Sink.BatchRows, "sink: rows per ClickHouse insert")
	fs.DurationSliceVar(&cfg.Tuning.RetryDelays, "retry-delays", cfg.Tuning.RetryDelays, "delay tiers of transient failures, after the last the item is parked (default: each stage's own, from its pipeline's descriptor)")
	fs.Lookup("retry-delays").DefValue = "" // not the empty list pflag would show
	cfg.Reprocess.Flags(fs)
	fs.DurationVar(&cfg.Sink.FlushInterval, "flush-interval", cfg.Sink.FlushInterval, "sink: longest wait before a partial batch is inserted")
	return service(cmd)
}
