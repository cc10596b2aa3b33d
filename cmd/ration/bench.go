package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/rationhq/ration/bench"
	receiptsamples "github.com/rationhq/ration/docs/receipts"
	"github.com/rationhq/ration/pipelines/points"
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
number of workers. Each side runs --rounds times, taking turns, and the
fastest run of each counts; the last line is ratio=<pipeline/ceiling>.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
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
	fs.IntVar(&cfg.Rounds, "rounds", 3, "runs of each side; the fastest counts")
	cmd.AddCommand(dm, newBenchDMReadCmd(), newBenchReceiptsCmd(), newBenchAnalyticsCmd(), newBenchPointsCmd(),
		newBenchPointsLedgerCmd())
	cmd.PersistentFlags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run (this process's) to this file")
	profiled(cmd, &cpuProfile)
	return cmd
}

func newBenchDMReadCmd() *cobra.Command {
	var cfg bench.DMReadConfig
	cmd := &cobra.Command{
		Use:   "dm-read",
		Short: "DM reads (stats, a page, a lookup) at N/10 and N users, state view against whole log",
		Long: `Loads generated DM histories into ClickHouse (a server it starts, or
--clickhouse) through the state view's own handler and the DM sink
mappings, then times the read API's queries on the state view's tables and,
as the baseline, on the whole log, at a tenth of the users and at all of
them. The line before last compares every read: growth=<view p50 at N /
at N/10, the read that grew most> growth_p99=<the same by p99>
vs_whole_log=<view p99 / whole-log p99 at N, the read that gained least>.
The last line is stats_p99_ms=… page_ms=<p99 of a page> lookup_p99_ms=…
growth=<stats p50 at N / at N/10>.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rep, err := bench.RunDMRead(cmd.Context(), cfg, os.Stderr)
			if err != nil {
				return err
			}
			rep.Print(os.Stdout)
			return nil
		},
	}
	fs := cmd.Flags()
	fs.IntVar(&cfg.Users, "users", 1_000_000, "users registered for the second measurement, half of them marked (the first has a tenth)")
	fs.IntVar(&cfg.Samples, "samples", 100, "samples of each read on the state view (the baseline takes a tenth)")
	fs.StringVar(&cfg.ClickHouse, "clickhouse", "", "native address of a ClickHouse server to use (default: start one)")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of the generated histories and sampled users")
	return cmd
}

func newBenchReceiptsCmd() *cobra.Command {
	cfg := bench.ReceiptsConfig{API: "http://127.0.0.1:8080"}
	cmd := &cobra.Command{
		Use:   "receipts",
		Short: "Receipts at a constant arrival rate against a running stack: POST latency, POST to ACCEPTED",
		Long: `Sends receipts of about 2 kB (type ` + bench.BenchType + `, put first: an admin key) to the
API of a running stack (ration dev, say) at --rate per second for
--duration, each at its planned time whether or not earlier ones were
answered (open loop: latency counts from the planned time, so a stall is
not hidden), and follows one in --follow-one-in to ACCEPTED. It prints a
line per rate; with --find-max it raises the rate by half each step until
the POST p99 passes --max-p99 or a request fails, then tries the rate
halfway between the highest that held and the lowest that did not until
they are within 10%, and ends on max_rate=<the highest that held>.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Key == "" {
				cfg.Key = os.Getenv("RATION_API_KEY")
			}
			doc, err := receiptsamples.Type("retail")
			if err != nil {
				return err
			}
			rep, err := bench.RunReceipts(cmd.Context(), cfg, doc, os.Stderr)
			if err != nil {
				return err
			}
			rep.Print(os.Stdout, cfg.FindMax)
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&cfg.API, "api", cfg.API, "base URL of the stack's HTTP API")
	fs.StringVar(&cfg.Key, "key", "", "an admin API key (prefer RATION_API_KEY)")
	fs.Float64Var(&cfg.Rate, "rate", 1000, "receipts per second (the first step, with --find-max)")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "how long each rate is sent")
	fs.BoolVar(&cfg.FindMax, "find-max", false, "raise the rate until the POST p99 passes --max-p99 or a request fails")
	fs.DurationVar(&cfg.MaxP99, "max-p99", 500*time.Millisecond, "the POST p99 a rate must keep")
	fs.IntVar(&cfg.FollowOneIn, "follow-one-in", 50, "follow one receipt in this many to ACCEPTED")
	return cmd
}

func newBenchAnalyticsCmd() *cobra.Command {
	var cfg bench.AnalyticsConfig
	cmd := &cobra.Command{
		Use:   "receipts-analytics",
		Short: "The analysts' questions at N/10 and N receipt lines, ration's tables against one plain table",
		Long: `Loads synthetic accepted receipts with --lines lines over --years into
ClickHouse (a server it starts, or --clickhouse) as the pipeline stores them
(the lines by the sink's mapping, the rollups by the totals view's own
handler), and times a client's last 30 days, a page of 10 000 of a client's
lines, and the New Year holidays of every year (docs/analytics.md), at a
tenth of the lines and at all of them: on ration's tables as loaded, on
one plain table of the same lines (the baseline), and on ration's tables
again once the rollup's versions and the lines' parts are merged
(OPTIMIZE … FINAL: the steady state, which a load of 20 years in minutes
outruns); ration's rows give the lines' active parts. The last line is
recent_p99_ms=… new_year_ms=… recent_growth=<p99 at N / at N/10>
new_year_growth=<p50 at N / at N/10> new_year_merged_ms=…
new_year_merged_growth=….`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rep, err := bench.RunReceiptsAnalytics(cmd.Context(), cfg, os.Stderr)
			if err != nil {
				return err
			}
			rep.Print(os.Stdout)
			return nil
		},
	}
	fs := cmd.Flags()
	fs.IntVar(&cfg.Lines, "lines", 10_000_000, "receipt lines of the second measurement (the first has a tenth)")
	fs.IntVar(&cfg.Years, "years", 20, "years the receipts are spread over")
	fs.IntVar(&cfg.Clients, "clients", 10_000, "clients the receipts belong to")
	fs.IntVar(&cfg.LinesPerClient, "lines-per-client", 0, "grow the clients with the lines instead, one per this many, each load's its own: a client's answer is as big at N as at N/10")
	fs.IntVar(&cfg.Samples, "samples", 50, "samples of each question on ration's tables (the baseline takes a fifth)")
	fs.StringVar(&cfg.ClickHouse, "clickhouse", "", "native address of a ClickHouse server to use (default: start one)")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of the generated receipts and the sampled clients")
	return cmd
}

func newBenchPointsCmd() *cobra.Command {
	cfg := bench.PointsConfig{Users: 20, Groups: 5, Clients: 8, Duration: time.Minute, Workers: 2, Seed: 1}
	cmd := &cobra.Command{
		Use:   "points",
		Short: "The points consistency load run: many clients billing and redeeming, checked as it goes (PT-8, PT-9)",
		Long: `Starts a stack of its own (ration dev without workers, and --workers
ledger worker processes), creates --users users across the three regions,
one staff member per region and --groups groups (each user in two), and
keeps billing and redeeming from --clients concurrent clients for
--duration, each command retried with its own id on any error until it
has an outcome (with --batch N, N commands at a time: a staff member's
bills or a user's redemptions in one request). It checks as it goes and at the end: no balance ever
negative; every command one outcome; no ledger entry applied twice; each
group's entries gapless, each balance the previous plus its points; the
group in Kafka at its last entry; the ledger in ClickHouse the same
entries. With --chaos it also kills a ledger worker with SIGKILL three
times, restarts the broker once on its data dir and cuts every client
connection each eighth of the run. The last line is
violations=<n> commands_per_s=<r>; the command fails when n > 0.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			bin, err := os.Executable()
			if err != nil {
				return err
			}
			cfg.Bin = bin
			rep, err := bench.RunPoints(cmd.Context(), cfg, os.Stderr)
			if err != nil {
				return err
			}
			rep.Print(os.Stdout)
			if len(rep.Violations) > 0 {
				return fmt.Errorf("%d violations", len(rep.Violations))
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.IntVar(&cfg.Users, "users", cfg.Users, "users, across the three regions")
	fs.IntVar(&cfg.Groups, "groups", cfg.Groups, "groups; each user joins two")
	fs.IntVar(&cfg.Clients, "clients", cfg.Clients, "concurrent clients")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "how long the load runs")
	fs.BoolVar(&cfg.Chaos, "chaos", false, "kill ledger workers, restart the broker, cut client connections")
	fs.IntVar(&cfg.Workers, "workers", cfg.Workers, "ledger worker processes")
	fs.StringVar(&cfg.Dir, "data-dir", "", "the stack's data dir (default: a temporary one, removed after)")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the load's choices")
	fs.IntVar(&cfg.Batch, "batch", 1, fmt.Sprintf("commands each client sends at once (POST /v1/points/commands, up to %d)", points.MaxBatch))
	return cmd
}

func newBenchPointsLedgerCmd() *cobra.Command {
	var cfg bench.PointsLedgerConfig
	cmd := &cobra.Command{
		Use:   "points-ledger",
		Short: "The ledger stage's commands per second through Kafka alone, against a transactional copy",
		Long: `On an in-process broker, produces --commands points commands over --groups
groups (bills and redemptions, many beyond the balance), then times
--workers ledger workers deciding them against the ceiling of the same
broker, a transactional copy of the same commands; each side runs twice,
taking turns, the faster counting. The last line is
commands_per_s=<ledger> ratio=<ledger/ceiling>.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rep, err := bench.RunPointsLedger(cmd.Context(), cfg, os.Stderr)
			if err != nil {
				return err
			}
			rep.Print(os.Stdout)
			return nil
		},
	}
	fs := cmd.Flags()
	fs.IntVar(&cfg.Commands, "commands", 200_000, "commands per run")
	fs.IntVar(&cfg.Groups, "groups", 1_000, "groups")
	fs.IntVar(&cfg.Workers, "workers", 2, "ledger workers")
	return cmd
}
