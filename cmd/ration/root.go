package main

import (
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/rationhq/ration/internal/cliconfig"
	"github.com/rationhq/ration/internal/obs"
)

// globals are the flags every command has.
type globals struct {
	configFile string
	logFormat  string
	logLevel   string
	log        *slog.Logger
}

func newRootCmd() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "ration",
		Short:         "Kafka-native work distribution and durable processing",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if path, ok := os.LookupEnv(cliconfig.EnvName("config")); ok && !cmd.Flags().Changed("config") {
				g.configFile = path
			}
			if err := cliconfig.Apply(cmd.Flags(), g.configFile); err != nil {
				return err
			}
			log, err := obs.NewLogger(os.Stderr, g.logFormat, g.logLevel)
			if err != nil {
				return err
			}
			g.log = log
			return nil
		},
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.configFile, "config", "", "YAML file of flag values (keys are flag names)")
	pf.StringVar(&g.logFormat, "log-format", "text", "log format: text or json")
	pf.StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn or error")

	root.AddCommand(
		// Each role and people's command adds itself here.
		newWorkerCmd(g),
		newSimCmd(g),
		newBenchCmd(g),
		newBrokerCmd(g),
		newDMCmd(g),
		newReceiptsCmd(g),
		newDeadCmd(g),
		newPipelinesCmd(g),
		newClientsCmd(g),
		newDevCmd(g),
		newAPICmd(g),
		newSinkCmd(g),
		newReprocessCmd(g),
		newPointsCmd(g),
		newChaosCmd(g),
	)
	acceptSeconds(root)
	return root
}

// acceptSeconds lets every duration flag of c and its subcommands take
// whole seconds too ("86400"), as the seed writes its settings.
func acceptSeconds(c *cobra.Command) {
	cliconfig.AcceptSeconds(c.PersistentFlags())
	cliconfig.AcceptSeconds(c.Flags())
	for _, sub := range c.Commands() {
		acceptSeconds(sub)
	}
}
