package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/rationhq/ration"
)

func newPipelinesCmd(_ *globals) *cobra.Command {
	f := defaultAPIFlags()
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "pipelines",
		Short: "Show every stage's buckets: owners, lag, rate, oldest waiting age and drain time",
		Long: `Shows, per pipeline and stage, the buckets (the partitions of the stage's
input topics), the worker that owns each (by instance id) and what waits in
it, and the stage's totals: lag (records waiting), rate (records per second
committed between the API's last two samples, 5 s apart), the age of the
oldest waiting record, and the drain time (lag over rate). A stage works at
most one worker per bucket: workers beyond the buckets are listed as idle.
Talks to ration's HTTP API (--api, or RATION_API) with a read key (--key,
or RATION_API_KEY).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := f.client().Pipelines(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return writeIndented(cmd.OutOrStdout(), r)
			}
			return printBuckets(cmd.OutOrStdout(), r)
		},
	}
	f.bind(cmd.Flags())
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the API's JSON")
	return cmd
}

// printBuckets prints each stage's summary and then its buckets.
func printBuckets(w io.Writer, r ration.BucketsReport) error {
	rated := r.RateIntervalSeconds > 0
	fmt.Fprintf(w, "sampled %s", r.SampledAt.UTC().Format(ration.TimestampLayout))
	if rated {
		fmt.Fprintf(w, ", rates over %s", durationText(r.RateIntervalSeconds))
	} else {
		fmt.Fprint(w, ", no rates yet (one sample so far)")
	}
	fmt.Fprintln(w)
	for _, p := range r.Pipelines {
		for _, s := range p.Stages {
			fmt.Fprintf(w, "\n%s/%s (group %s)\n", p.Name, s.Name, s.Group)
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			members := strings.Join(s.Members, ", ")
			if members == "" {
				members = "none: no worker runs"
			}
			rate := "-"
			if rated {
				rate = fmt.Sprintf("%s records/s", numberText(s.RecordsPerSecond))
			}
			for _, row := range [][2]string{
				{"members", members},
				{"lag", fmt.Sprintf("%d records in %d buckets (%d partitions)", s.Lag, bucketCount(s.Buckets, nil), len(s.Buckets))},
				{"rate", rate},
				{"oldest waiting", durationText(s.OldestWaitingSeconds)},
				{"drain", drainText(s.DrainSeconds, s.Lag, rated)},
			} {
				fmt.Fprintf(tw, "  %s\t%s\n", row[0], row[1])
			}
			if idle := idleNote(s); idle != "" {
				fmt.Fprintf(tw, "  idle\t%s\n", idle)
			}
			fmt.Fprintln(tw, "\n  TOPIC\tPARTITION\tOWNER\tLAG\tRATE/S\tOLDEST\tDRAIN")
			for _, b := range s.Buckets {
				owner := b.Owner
				if owner == "" {
					owner = "-"
				}
				bucketRate := "-"
				if rated {
					bucketRate = numberText(b.RecordsPerSecond)
				}
				fmt.Fprintf(tw, "  %s\t%d\t%s\t%d\t%s\t%s\t%s\n", b.Topic, b.Partition, owner, b.Lag, bucketRate,
					durationText(b.OldestWaitingSeconds), drainText(b.DrainSeconds, b.Lag, rated))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// idleNote names the members that own no bucket, and why.
func idleNote(s ration.StageBuckets) string {
	var idle []string
	for _, m := range s.Members {
		if !slices.ContainsFunc(s.Buckets, func(b ration.Bucket) bool { return b.Owner == m }) {
			idle = append(idle, m)
		}
	}
	unowned := bucketCount(s.Buckets, func(b ration.Bucket) bool { return b.Owner == "" })
	switch {
	case len(idle) == 0:
		return ""
	case unowned == 0:
		return fmt.Sprintf("%s: every one of the %d buckets is owned, and a bucket has one worker at a time (more buckets: more parallelism)",
			strings.Join(idle, ", "), bucketCount(s.Buckets, nil))
	default:
		return fmt.Sprintf("%s, with %d buckets unowned: the group is rebalancing", strings.Join(idle, ", "), unowned)
	}
}

// bucketCount counts the buckets among bs (those with a partition for
// which keep holds, or all with nil keep): a stage's inputs are
// co-partitioned, so bucket p is partition p of every input.
func bucketCount(bs []ration.Bucket, keep func(ration.Bucket) bool) int {
	seen := make(map[int32]bool)
	for _, b := range bs {
		if keep == nil || keep(b) {
			seen[b.Partition] = true
		}
	}
	return len(seen)
}

// drainText says how long lag takes to drain, and why it cannot be said.
func drainText(d *float64, lag int64, rated bool) string {
	switch {
	case d != nil:
		return durationText(*d)
	case !rated:
		return "unknown"
	case lag > 0:
		return "stalled"
	}
	return "-"
}

func durationText(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(time.Millisecond).String()
}

func numberText(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
