package main

import (
	"os"
	"runtime/pprof"
	"time"

	"github.com/spf13/cobra"

	"github.com/rationhq/ration/bench"
)

func newBenchCmd(_ *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure pipelines against a ceiling on the same embedded broker",
	}
	var (
		cfg        bench.DMConfig
		cpuProfile string
	)
	dm := &cobra.Command{
		Use:   "dm",
		Short: "DM checks/s against a plain transactional copy; mark-to-result latency",
		Long: `Runs on an in-process broker with the no-op checker. The ceiling is a plain
transactional copy of the same marks over the same partitions by the same
number of workers; the last line is ratio=<pipeline/ceiling>.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			rep, err := bench.RunDM(cmd.Context(), cfg, os.Stderr)
			if err != nil {
				return err
			}
			rep.Print(os.Stdout)
			return nil
		},
	}
	fs := dm.Flags()
	fs.IntVar(&cfg.Users, "users", 100_000, "marks checked in the throughput phase")
	fs.IntVar(&cfg.Workers, "workers", 2, "workers (and copiers)")
	fs.Int32Var(&cfg.Partitions, "partitions", 12, "partitions of every topic")
	fs.DurationVar(&cfg.LatencyFor, "latency-for", 5*time.Second, "length of the latency phase")
	fs.Float64Var(&cfg.Load, "load", 0.5, "share of the measured throughput the latency phase sends at")
	fs.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file")
	cmd.AddCommand(dm)
	return cmd
}
