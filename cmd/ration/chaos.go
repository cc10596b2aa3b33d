package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/rationhq/ration/chaos"
)

// errViolations makes `ration chaos` exit non-zero after its report.
var errViolations = errors.New("chaos: violations found")

func newChaosCmd(_ *globals) *cobra.Command {
	cfg := chaos.Config{Duration: 10 * time.Minute, Seed: 1, Rate: 10}
	var faults string
	cmd := &cobra.Command{
		Use:   "chaos",
		Short: "Run the whole stack as processes under load and faults, and check every promise",
		Long: `Starts the whole stack as separate processes of this binary — the broker
(on a data dir, with --sync-writes), a local ClickHouse, two APIs behind
proxies that can cut connections, the sink, the reprocessor (every 20 s, no
off-peak window), 3 DM, 2 receipts and 2 points workers, the DM checker,
tax office and logistics simulators — all authenticating to Kafka as the
broker's admin user. It sends --rate requests per second to each pipeline
through both APIs for --duration while injecting faults on a schedule
derived from --seed alone (so a failing run can be replayed): kill -9 and
restart of workers (3 a minute), an API, the sink, the reprocessor, the
broker and ClickHouse; cut client connections; a worker stopped past its
session timeout (a zombie); simulator outages and slow answers. Each
fault starts at its time, so faults overlap (a zombie while the broker
restarts), one at a time per process. Then the load and faults stop, the
stack drains, and the checkers run:

  dm        every acknowledged mark ends checked, parked or failed; one
            committed result per mark; the API's stats agree with Kafka
  receipts  every acknowledged receipt ends ACCEPTED or REJECTED; each
            accepted one registered once with the tax office and once
            with the logistics service
  points    as ration bench points: one outcome per command, no negative
            balance, the ledger the same in the answers, Kafka and
            ClickHouse

It prints every fault, each checker's counts, each pipeline's load as its
clients saw it (answers per second; p50, p99 and max from when a request
was due to its answer, retries included; held=true when every request
was answered and the p99 kept 500 ms) and, last,
violations=<n> faults=<injected>. --faults none measures the load the
stack holds without faults. With violations it exits non-zero and
saves the seed, the fault log and the offending keys to
DATA_DIR/chaos-violations.txt. Process logs are under DATA_DIR/logs (a
temporary data dir is removed after a clean run).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			kinds, err := chaos.ParseKinds(faults)
			if err != nil {
				return err
			}
			cfg.Faults = kinds
			if cfg.Bin, err = os.Executable(); err != nil {
				return err
			}
			rep, err := chaos.Run(cmd.Context(), cfg, os.Stderr)
			if err != nil {
				return err
			}
			rep.Print(os.Stdout)
			if len(rep.Violations) > 0 {
				return fmt.Errorf("%w: %d", errViolations, len(rep.Violations))
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "how long load and faults run (the drain comes after)")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the fault schedule (replay a failing run with its seed)")
	fs.StringVar(&faults, "faults", "all", "comma-separated fault kinds to inject, all or none: "+kindList())
	fs.StringVar(&cfg.Dir, "data-dir", "", "empty directory for every process's data and logs (default: a temporary one)")
	fs.Float64Var(&cfg.Rate, "rate", cfg.Rate, "requests per second to each pipeline")
	fs.BoolVar(&cfg.SyncWrites, "sync-writes", true, "run the broker with --sync-writes (off: a broker kill may lose acknowledged writes)")
	return cmd
}

func kindList() string {
	s := ""
	for i, k := range chaos.Kinds {
		if i > 0 {
			s += ","
		}
		s += string(k)
	}
	return s
}
