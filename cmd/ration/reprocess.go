package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/rationhq/ration/api/apiclient"
	"github.com/rationhq/ration/internal/kafkaconn"
	"github.com/rationhq/ration/internal/obs"
	"github.com/rationhq/ration/internal/roles"
	"github.com/rationhq/ration/pipelines"
	"github.com/rationhq/ration/reprocess"
	"github.com/rationhq/ration/sink"
)

func newReprocessCmd(g *globals) *cobra.Command {
	kafka := kafkaconn.Defaults()
	cfg := reprocess.DefaultConfig()
	store := sink.DefaultTarget()
	metricsAddr := "127.0.0.1:9104"
	cmd := &cobra.Command{
		Use:   "reprocess",
		Short: "Send parked and stuck items through their stage again, on a schedule",
		Long: `Runs the reprocessor: at start-up and then every reprocess.schedule, inside
the off-peak reprocess.window if one is set, it selects from ClickHouse the
items parked with status REPROCESS and the items in ERROR or SUCCESS that
have not changed for reprocess.elapse, re-sends each to its latest stage
(incrementing its retry count), and gives up on an item whose retry count
reached reprocess.attempt_count, notifying about it once (SMTP and/or
webhook). Several replicas may run: only one acts at a time.

"ration reprocess run --now" asks the HTTP API for a run at once.

Prints "ration reprocess ready metrics=HOST:PORT" once /metrics is served.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runReprocessor(cmd.Context(), g, kafka, cfg, store, metricsAddr, metricsOpts(cmd, g.log)...)
		},
	}
	fs := cmd.Flags()
	kafka.Flags(fs)
	cfg.Flags(fs)
	store.Flags(fs)
	fs.StringVar(&metricsAddr, "metrics", metricsAddr, "address of /metrics and /healthz (empty: none)")
	cmd.AddCommand(newReprocessRunCmd())
	return service(cmd)
}

func runReprocessor(ctx context.Context, g *globals, kafka kafkaconn.Config, cfg reprocess.Config, store sink.Target, metricsAddr string, metrics ...obs.Opt) error {
	reg := obs.NewRegistry()
	env, err := roles.NewEnv(ctx, kafka, pipelines.All(), g.log, reg)
	if err != nil {
		return err
	}
	reader, err := env.Reader(ctx, store)
	if err != nil {
		return err
	}
	defer reader.Close()
	host, _ := os.Hostname()
	r, err := env.Reprocessor(cfg, reader, "reprocessor@"+host)
	if err != nil {
		return err
	}
	return runRole(ctx, "reprocess", metricsAddr, reg, r.Serve, metrics...)
}

func newReprocessRunCmd() *cobra.Command {
	f := defaultAPIFlags()
	var (
		now, asJSON bool
		req         apiclient.ReprocessRequest
		since       string
	)
	cmd := &cobra.Command{
		Use:   "run --now",
		Short: "Run the reprocessor now, through the HTTP API (admin key)",
		Long: `Asks ration's HTTP API (--api, or RATION_API; admin key from --key or
RATION_API_KEY) for one reprocessing run at once, whatever the off-peak
window says, and prints what it re-sent, gave up on or left waiting. With
--dry-run it only prints what it would do.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !now {
				return errors.New("say --now: scheduled runs are the job of 'ration reprocess'")
			}
			if since != "" {
				t, err := time.Parse(time.RFC3339Nano, since)
				if err != nil {
					d, derr := time.ParseDuration(since)
					if derr != nil {
						return fmt.Errorf("--since %q: want an RFC 3339 time or a duration such as 2h", since)
					}
					t = time.Now().Add(-d)
				}
				req.Since = t.UTC().Format(time.RFC3339Nano)
			}
			rep, err := f.client().Reprocess(cmd.Context(), req)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "PIPELINE\tITEM\tSTAGE\tSTATUS\tRETRIES\tACTION")
			for _, it := range rep.Items {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", it.Pipeline, it.ItemID, it.Stage, it.Status, it.RetryCount, it.Action)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			verb := "did"
			if rep.DryRun {
				verb = "would do (dry run)"
			}
			fmt.Fprintf(out, "%d selected; %s: %d re-sent, %d given up, %d left waiting, %d missing; %d notified\n",
				rep.Selected, verb, rep.Resent, rep.Failed, rep.Waiting, rep.Missing, rep.Notified)
			return nil
		},
	}
	f.bind(cmd.Flags())
	fs := cmd.Flags()
	fs.BoolVar(&now, "now", false, "run at once, ignoring the off-peak window (required)")
	fs.BoolVar(&req.DryRun, "dry-run", false, "only print what would be done")
	fs.StringVar(&req.Pipeline, "pipeline", "", "only this pipeline's items (e.g. dm)")
	fs.StringVar(&req.Status, "status", "", "only items in this status: REPROCESS, ERROR or SUCCESS")
	fs.StringVar(&since, "since", "", "only items changed since this RFC 3339 time or this long ago (e.g. 2h)")
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}
