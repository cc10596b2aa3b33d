package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/rationhq/ration"
)

func newDeadCmd(_ *globals) *cobra.Command {
	f := defaultAPIFlags()
	var (
		pipeline, stage string
		parked          bool
	)
	cmd := &cobra.Command{
		Use:   "dead",
		Short: "List, replay or purge a pipeline's dead letters or parked items (admin key)",
		Long: `Dead letters are records a stage could not process at all (they do not
decode); the stage put them, with where they came from and why, on its
dead-letter topic (ration.<pipeline>.<stage>.dead, e.g. ration.dm.check.dead)
and moved on. Parked items (--parked) failed transiently in every delay tier;
they sit on ration.<pipeline>.<stage>.parked until the reprocessor sends them
again, or until you replay them now. These commands talk to ration's HTTP API
(--api, or RATION_API) with an admin key (--key, or RATION_API_KEY).`,
	}
	f.bind(cmd.PersistentFlags())
	cmd.PersistentFlags().StringVar(&pipeline, "pipeline", "dm", "pipeline whose dead letters to act on")
	cmd.PersistentFlags().StringVar(&stage, "stage", "", "stage whose dead letters to act on (default: the pipeline's first)")
	cmd.PersistentFlags().BoolVar(&parked, "parked", false, "act on the parked items instead of the dead letters")

	var limit int
	list := &cobra.Command{
		Use:   "list",
		Short: "Show the dead letters",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			letters, err := f.client().DeadLetters(cmd.Context(), ration.DeadLetterKey{Pipeline: pipeline, Stage: stage, Parked: parked}, limit)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "AT\tKEY\tFROM\tSTAGE\tERROR\tTIME")
			for _, l := range letters {
				fmt.Fprintf(tw, "%d@%d\t%s\t%s/%d@%d\t%s\t%s\t%s\n", l.Partition, l.Offset, l.Key,
					l.OriginalTopic, l.OriginalPartition, l.OriginalOffset, l.Stage, l.Error, l.Time.UTC().Format(ration.TimestampLayout))
			}
			return tw.Flush()
		},
	}
	list.Flags().IntVar(&limit, "limit", 100, "most letters to show (at most 1000)")

	act := func(use, done, short string, do func(cmd *cobra.Command, dryRun bool) (ration.DeadLetterOutcome, error)) *cobra.Command {
		var dryRun bool
		c := &cobra.Command{
			Use:   use,
			Short: short,
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				out, err := do(cmd, dryRun)
				if err != nil {
					return err
				}
				what := "dead letters"
				if parked {
					what = "parked items"
				}
				if out.DryRun {
					fmt.Fprintf(cmd.OutOrStdout(), "dry run: %d %s of %s would be %s\n", out.Letters, what, pipeline, done)
					return nil
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%d %s of %s: %d replayed, %d purged\n", out.Letters, what, pipeline, out.Replayed, out.Purged)
				return nil
			},
		}
		c.Flags().BoolVar(&dryRun, "dry-run", false, "only say what would be done")
		return c
	}
	replay := act("replay", "replayed", "Send the dead letters back to their original topics, then delete them",
		func(cmd *cobra.Command, dryRun bool) (ration.DeadLetterOutcome, error) {
			return f.client().ReplayDeadLetters(cmd.Context(), ration.DeadLetterKey{Pipeline: pipeline, Stage: stage, Parked: parked}, dryRun)
		})
	purge := act("purge", "purged", "Delete the dead letters",
		func(cmd *cobra.Command, dryRun bool) (ration.DeadLetterOutcome, error) {
			return f.client().PurgeDeadLetters(cmd.Context(), ration.DeadLetterKey{Pipeline: pipeline, Stage: stage, Parked: parked}, dryRun)
		})
	cmd.AddCommand(list, replay, purge)
	return cmd
}
