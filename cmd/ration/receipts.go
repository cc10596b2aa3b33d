package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/api/apiclient"
)

// receiptsCLI holds the flags the receipts commands share.
type receiptsCLI struct{ apiFlags }

func newReceiptsCmd(_ *globals) *cobra.Command {
	r := &receiptsCLI{apiFlags: defaultAPIFlags()}
	cmd := &cobra.Command{
		Use:   "receipts",
		Short: "Submit receipts, see where they stand, and manage their types",
		Long: `Commands for people and scripts, talking to ration's HTTP API (--api, or
RATION_API) with an API key (--key, or RATION_API_KEY): write scope to
submit, read scope to look, admin scope to change types.`,
	}
	r.apiFlags.bind(cmd.PersistentFlags())
	cmd.AddCommand(r.submitCmd(), r.statusCmd(), r.listCmd(), r.typesCmd())
	return cmd
}

// contentTypeOf is a receipt file's content type, by its extension.
func contentTypeOf(path string) (string, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		return "application/json", nil
	case ".xml":
		return "application/xml", nil
	}
	return "", fmt.Errorf("%s: a receipt file ends in .json or .xml", path)
}

func (r *receiptsCLI) submitCmd() *cobra.Command {
	var progress bool
	cmd := &cobra.Command{
		Use:   "submit FILE...",
		Short: "Submit receipts (JSON or XML by extension)",
		Long: `Submits each FILE and prints one line per receipt: its id and status, or
why it was refused (every reason of an invalid one). It goes on after a
refused receipt and fails at the end if any was refused.`,
		Example: `  ration receipts submit docs/receipts/samples/*.json docs/receipts/samples/*.xml`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			if !cmd.Flags().Changed("progress") {
				progress = len(files) > 1 && isTerminal(cmd.ErrOrStderr())
			}
			for _, f := range files {
				if _, err := contentTypeOf(f); err != nil {
					return err
				}
			}
			bar := progressbar.NewOptions(len(files),
				progressbar.OptionSetWriter(cmd.ErrOrStderr()),
				progressbar.OptionSetVisibility(progress),
				progressbar.OptionSetDescription("receipts"),
				progressbar.OptionShowCount(),
				progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionOnCompletion(func() { fmt.Fprintln(cmd.ErrOrStderr()) }),
			)
			c, out := r.client(), cmd.OutOrStdout()
			refused := 0
			for _, f := range files {
				ct, _ := contentTypeOf(f)
				doc, err := os.ReadFile(f)
				if err != nil {
					return err
				}
				got, err := c.SubmitReceipt(cmd.Context(), ct, doc)
				_ = bar.Add(1)
				var ae *apiclient.Error
				switch {
				case errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 500:
					refused++
					fmt.Fprintf(out, "%s\trefused: %s\n", f, ae.Message)
					for _, reason := range ae.Reasons {
						fmt.Fprintf(out, "%s\t  %s: %s\n", f, pathOrWhole(reason.Path), reason.Message)
					}
				case err != nil:
					return fmt.Errorf("%s: %w", f, err)
				case got.New:
					fmt.Fprintf(out, "%s\t%s\t%s\n", f, got.ID, got.Status)
				default:
					fmt.Fprintf(out, "%s\t%s\t%s (sent before)\n", f, got.ID, got.Status)
				}
			}
			if refused > 0 {
				return fmt.Errorf("%d of %d receipts refused", refused, len(files))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&progress, "progress", false, "show a progress bar on stderr (default: for several files, when stderr is a terminal)")
	return cmd
}

// readFileArg reads the file a command was given, "-" being stdin.
func readFileArg(cmd *cobra.Command, path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(cmd.InOrStdin())
	}
	return os.ReadFile(path)
}

// printReasons writes the reasons of a refused body, one a line.
func printReasons(w io.Writer, err error) {
	var ae *apiclient.Error
	if errors.As(err, &ae) {
		for _, reason := range ae.Reasons {
			fmt.Fprintf(w, "  %s: %s\n", pathOrWhole(reason.Path), reason.Message)
		}
	}
}

func pathOrWhole(p string) string {
	if p == "" {
		return "(the receipt)"
	}
	return p
}

func (r *receiptsCLI) statusCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status ID",
		Short: "A receipt's status, registrations and history",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rc, err := r.client().Receipt(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return writeIndented(out, rc)
			}
			if err := writeFields(out, [][2]string{
				{"receipt", rc.ID}, {"type", rc.Type}, {"status", string(rc.Status)},
				{"received", stampOr(rc.ReceivedAt, "")}, {"accepted", stampOr(rc.AcceptedAt, "")},
				{"tax registration", rc.TaxRegistration}, {"logistics registration", rc.LogisticsRegistration},
				{"reason", rc.Reason}, {"parked at", rc.ParkedStage},
			}); err != nil {
				return err
			}
			if len(rc.History) == 0 {
				return nil
			}
			fmt.Fprintln(out)
			return writeHistory(out, rc.History)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the API's JSON")
	return cmd
}

func (r *receiptsCLI) listCmd() *cobra.Command {
	var (
		f        apiclient.ReceiptFilter
		from, to string
		status   string
		all      bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Receipts received in a period (default: the last 30 days)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for s, t := range map[string]*time.Time{from: &f.From, to: &f.To} {
				if s == "" {
					continue
				}
				v, err := time.Parse(time.RFC3339, s)
				if err != nil {
					return fmt.Errorf("%q: want an RFC 3339 time (2026-01-02T15:04:05Z)", s)
				}
				*t = v
			}
			f.Status = ration.ReceiptStatus(strings.ToUpper(status))
			c := r.client()
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tTYPE\tSTATUS\tRECEIVED\tACCEPTED")
			for {
				page, err := c.Receipts(cmd.Context(), f)
				if err != nil {
					return err
				}
				for _, rc := range page.Receipts {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", rc.ID, rc.Type, rc.Status, stampOr(rc.ReceivedAt, ""), stampOr(rc.AcceptedAt, ""))
				}
				if !all || page.Next == "" {
					if page.Next != "" {
						fmt.Fprintf(tw, "(more: --cursor %s, or --all)\n", page.Next)
					}
					break
				}
				f.Cursor = page.Next
			}
			return tw.Flush()
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&from, "from", "", "received at or after (RFC 3339; default 30 days ago)")
	fs.StringVar(&to, "to", "", "received before (RFC 3339; default now)")
	fs.StringVar(&status, "status", "", "RECEIVED, TAX_REGISTERED, ACCEPTED, REJECTED, PARKED or FAILED")
	fs.StringVar(&f.Type, "type", "", "receipt type")
	fs.StringVar(&f.Client, "client", "", "one client's receipts (admin keys; default every client's)")
	fs.IntVar(&f.Limit, "limit", 0, "receipts per page (default the server's, 1000)")
	fs.StringVar(&f.Cursor, "cursor", "", "where a previous page ended")
	fs.BoolVar(&all, "all", false, "follow every page")
	return cmd
}

func (r *receiptsCLI) typesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "types",
		Short: "Receipt types: list, show, put (admin), delete (admin)",
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "The types in force",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ts, err := r.client().ReceiptTypes(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tUPDATED\tBY\tDESCRIPTION")
			for _, t := range ts {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Name, t.UpdatedAt.Format(time.RFC3339), t.UpdatedBy, t.Description)
			}
			return tw.Flush()
		},
	}
	show := &cobra.Command{
		Use:   "show NAME",
		Short: "One type's document",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := r.client().GetReceiptType(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(map[string]any{"description": t.Description, "schema": t.Schema, "rules": t.Rules})
		},
	}
	put := &cobra.Command{
		Use:   "put NAME FILE",
		Short: "Put a type document (- for stdin); in force everywhere within seconds",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			doc, err := readFileArg(cmd, args[1])
			if err != nil {
				return err
			}
			t, err := r.client().PutReceiptType(cmd.Context(), args[0], doc)
			printReasons(cmd.ErrOrStderr(), err)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "type %s in force (updated %s by %s)\n", t.Name, t.UpdatedAt.Format(time.RFC3339), t.UpdatedBy)
			return nil
		},
	}
	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a type",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := r.client().DeleteReceiptType(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "type %s deleted\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(list, show, put, del)
	return cmd
}
