package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/rationhq/ration/broker"
	"github.com/rationhq/ration/internal/obs"
)

func newBrokerCmd(g *globals) *cobra.Command {
	cfg := broker.DefaultConfig()
	metricsAddr := "127.0.0.1:9101"
	cmd := &cobra.Command{
		Use:   "broker",
		Short: "Run the embedded Kafka broker and schema registry",
		Long: `Serves a single-node Kafka (franz-go's kfake: transactions, consumer groups,
static membership) and a Confluent-compatible schema registry until
interrupted. franz-go clients, librdkafka (kcat) and Kafka UI can use both.

With --data-dir, topics, records, committed offsets, transactions, schema ids
and the listen ports (also those picked for port 0) survive a restart.
Without it everything is kept in memory. Deleting schemas is refused so that
ids keep their meaning.

Kafka clients authenticate with SASL/SCRAM-SHA-512 and are held to ACLs
(--no-auth turns both off). The admin user, a superuser, gets a random
password on the first start, kept in --admin-file (default
DATA_DIR/admin.kafka.json, mode 0600); without --data-dir or --admin-file
it is kept in $TMPDIR/ration-broker.admin.kafka.json. Roles use it with
--kafka-user ration-admin and --kafka-password (or RATION_KAFKA_PASSWORD).

Prints "ration broker ready kafka=HOST:PORT registry=http://HOST:PORT
admin=FILE" on stdout once both accept connections.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Log = g.log
			if cfg.DataDir == "" && cfg.AdminFile == "" {
				// An in-memory password would reach no other process.
				cfg.AdminFile = filepath.Join(os.TempDir(), "ration-broker."+broker.AdminFileName)
			}
			return runBroker(cmd.Context(), cfg, metricsAddr, metricsOpts(cmd, g.log)...)
		},
	}
	fs := cmd.Flags()
	cfg.Flags(fs)
	fs.Int32Var(&cfg.Partitions, "partitions", cfg.Partitions, "partitions of topics created without a count")
	fs.IntVar(&cfg.Brokers, "brokers", 1, "Kafka brokers, each on its own port (the first on --kafka; the others kept across restarts)")
	fs.StringVar(&metricsAddr, "metrics", metricsAddr, "address of /metrics and /healthz (empty: none)")
	return service(cmd)
}

func runBroker(ctx context.Context, cfg broker.Config, metricsAddr string, metrics ...obs.Opt) error {
	b, err := broker.Start(ctx, cfg)
	if err != nil {
		return err
	}
	ready := func(net.Addr) {
		line := fmt.Sprintf("ration broker ready kafka=%s registry=%s", b.KafkaAddr(), b.RegistryURL())
		if f := b.AdminFile(); f != "" {
			line += " admin=" + f
		}
		fmt.Println(line)
	}
	if metricsAddr == "" {
		ready(nil)
	}
	// Serve blocks until ctx ends (Ctrl-C); the broker stops after it.
	serveErr := obs.Serve(ctx, metricsAddr, obs.NewRegistry(), ready, metrics...)
	return errors.Join(serveErr, b.Close())
}
