package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/rationhq/ration"
)

// dmCLI holds the flags the dm commands share.
type dmCLI struct {
	apiFlags
	batch int
}

func newDMCmd(_ *globals) *cobra.Command {
	d := &dmCLI{apiFlags: defaultAPIFlags(), batch: 10_000}
	cmd := &cobra.Command{
		Use:   "dm",
		Short: "Submit users for DM checks and see where they stand",
		Long: `Commands for people, talking to ration's HTTP API (--api, or RATION_API)
with an API key (--key, or RATION_API_KEY): read scope to look, write scope
to import and mark. A user id is 1 to 64 of A-Z a-z 0-9 _ . : -`,
	}
	pf := cmd.PersistentFlags()
	d.apiFlags.bind(pf)
	pf.IntVar(&d.batch, "batch", d.batch, "most ids per request (the server's --max-ids)")
	cmd.AddCommand(d.importCmd(), d.markCmd(), d.statusCmd(), d.historyCmd(), d.listCmd(), d.statsCmd())
	return cmd
}

func (d *dmCLI) importCmd() *cobra.Command {
	var progress bool
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Register the users of FILE (one id per line; - for stdin)",
		Long: `Registers every user id of FILE, one per line, in requests of --batch ids.
Blank lines and # comments are skipped. A file is checked in full before
anything is sent; from stdin, ids are sent as they are read, so a bad line
stops the import after the batches before it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("progress") {
				progress = isTerminal(cmd.ErrOrStderr())
			}
			c := d.client()
			var requests, accepted int
			read, err := d.sendFile(cmd, args[0], progress, func(ctx context.Context, ids []string) error {
				requests++
				n, err := c.RegisterUsers(ctx, ids)
				accepted += n
				return err
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "imported %d users (%d ids read, %d requests)\n", accepted, read, requests)
			return nil
		},
	}
	cmd.Flags().BoolVar(&progress, "progress", false, "show a progress bar on stderr (default: when stderr is a terminal)")
	return cmd
}

func (d *dmCLI) markCmd() *cobra.Command {
	var (
		priority string
		file     string
	)
	cmd := &cobra.Command{
		Use:   "mark [--priority high] ID... | -f FILE",
		Short: "Ask for users to be checked",
		Example: `  ration dm mark alice bob
  ration dm mark --priority high -f vip.txt`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if (file == "") == (len(args) == 0) {
				return errors.New("give user ids as arguments or -f FILE, not both")
			}
			c := d.client()
			marked := 0
			send := func(ctx context.Context, ids []string) error {
				n, err := c.Mark(ctx, ids, priority)
				marked += n
				return err
			}
			var err error
			if file != "" {
				_, err = d.sendFile(cmd, file, false, send)
			} else {
				if d.batch < 1 {
					return fmt.Errorf("--batch %d < 1", d.batch)
				}
				for start := 0; start < len(args) && err == nil; start += d.batch {
					err = send(cmd.Context(), args[start:min(start+d.batch, len(args))])
				}
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "marked %d users (priority %s)\n", marked, priority)
			return nil
		},
	}
	cmd.Flags().StringVar(&priority, "priority", "normal", "normal or high")
	cmd.Flags().StringVarP(&file, "file", "f", "", "read ids from FILE, one per line (- for stdin)")
	return cmd
}

func (d *dmCLI) statusCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status ID",
		Short: "Show where one user stands",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			u, err := d.client().User(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return writeIndented(out, u)
			}
			return writeFields(out, [][2]string{
				{"user", u.UserID}, {"state", string(u.State)}, {"priority", orDash(u.Priority)},
				{"marked", stampOr(u.MarkedAt, "-")}, {"checked", stampOr(u.CheckedAt, "-")},
				{"open DM", openDM(u.OpenDM)}, {"attempts", fmt.Sprint(u.Attempts)},
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the API's JSON")
	return cmd
}

func (d *dmCLI) historyCmd() *cobra.Command {
	var (
		asJSON bool
		since  string
	)
	cmd := &cobra.Command{
		Use:   "history ID",
		Short: "Show every status change of one user's checks, oldest first",
		Long: `Shows every status change of the user's latest check, oldest first; with
--since, of every check since then (an RFC 3339 time or a date).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			events, err := d.client().History(cmd.Context(), args[0], since)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return writeIndented(out, map[string]any{"events": events})
			}
			return writeHistory(out, events)
		},
	}
	cmd.Flags().StringVar(&since, "since", "", "show the checks since this time (RFC 3339) or date (2006-01-02); default: the latest")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the API's JSON")
	return cmd
}

// writeHistory writes an item's status changes as a table.
func writeHistory(out io.Writer, events []ration.ItemEvent) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tSTAGE\tSTATUS\tATTEMPT\tRETRIES\tWORKER\tFROM\tERROR")
	for _, e := range events {
		from := fmt.Sprintf("%s/%d@%d", e.SourceTopic, e.SourcePartition, e.SourceOffset)
		errText := "-"
		if e.Error != "" {
			errText = e.ErrorClass + ": " + e.Error
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\n", e.Time.UTC().Format(ration.TimestampLayout),
			e.Stage, e.Status, e.Attempt, e.RetryCount, e.Worker, from, errText)
	}
	return tw.Flush()
}

func (d *dmCLI) listCmd() *cobra.Command {
	var (
		state  string
		limit  int
		cursor string
		all    bool
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "list --state STATE [--limit N] [--all]",
		Short: "List users in a state: unmarked, pending, checked or failed",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			c := d.client()
			header := !asJSON
			for {
				page, err := c.Users(cmd.Context(), ration.DMState(state), cursor, limit)
				if err != nil {
					return err
				}
				if err := printUsers(out, page.Users, header, asJSON); err != nil {
					return err
				}
				header = false
				cursor = page.Next
				if cursor == "" {
					return nil
				}
				if !all {
					fmt.Fprintf(cmd.ErrOrStderr(), "more users: add --cursor %s, or --all\n", cursor)
					return nil
				}
			}
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&state, "state", "", "unmarked, pending, checked or failed (required)")
	fs.IntVar(&limit, "limit", 0, "users per page, 1 to 10000 (default: the server's, 1000)")
	fs.StringVar(&cursor, "cursor", "", "start after a previous page (its next cursor)")
	fs.BoolVar(&all, "all", false, "follow cursors to the last page")
	fs.BoolVar(&asJSON, "json", false, "print one JSON object per user")
	_ = cmd.MarkFlagRequired("state")
	return cmd
}

func (d *dmCLI) statsCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Count users by state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := d.client().Stats(cmd.Context())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return writeIndented(out, s)
			}
			// States left, counts right: a table of four rows needs no tabwriter.
			fmt.Fprintf(out, "%-9s %12s\n", "STATE", "USERS")
			for _, row := range []struct {
				state ration.DMState
				n     int64
			}{{ration.DMUnmarked, s.Unmarked}, {ration.DMPending, s.Pending}, {ration.DMParked, s.Parked}, {ration.DMChecked, s.Checked}, {ration.DMFailed, s.Failed}} {
				fmt.Fprintf(out, "%-9s %12d\n", row.state, row.n)
			}
			age := time.Duration(s.OldestPendingAgeSeconds * float64(time.Second)).Round(time.Millisecond)
			_, err = fmt.Fprintf(out, "oldest pending: %s\n", age)
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the API's JSON")
	return cmd
}

// sendFile reads ids from path ("-" is stdin) and sends them in batches of
// d.batch. A file is read twice: first to check every line and count the
// ids, so a bad line sends nothing and the progress bar knows its end.
func (d *dmCLI) sendFile(cmd *cobra.Command, path string, progress bool, send func(context.Context, []string) error) (int, error) {
	if d.batch < 1 {
		return 0, fmt.Errorf("--batch %d < 1", d.batch)
	}
	open := func() (io.ReadCloser, error) {
		if path == "-" {
			return io.NopCloser(cmd.InOrStdin()), nil
		}
		return os.Open(path)
	}
	total := int64(-1) // unknown: a spinner
	if path != "-" {
		f, err := open()
		if err != nil {
			return 0, err
		}
		n, err := scanIDs(f, path, d.batch, func([]string) error { return nil })
		f.Close()
		if err != nil {
			return 0, err
		}
		total = int64(n)
	}
	f, err := open()
	if err != nil {
		return 0, err
	}
	defer f.Close()
	bar := progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(cmd.ErrOrStderr()),
		progressbar.OptionSetVisibility(progress),
		progressbar.OptionSetDescription("ids"),
		progressbar.OptionShowCount(),
		progressbar.OptionSetItsString("ids"),
		progressbar.OptionShowIts(),
		progressbar.OptionThrottle(100*time.Millisecond),
		// No ticker goroutine: the spinner moves as batches are sent.
		progressbar.OptionSetSpinnerChangeInterval(0),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(cmd.ErrOrStderr()) }),
	)
	sent := 0
	read, err := scanIDs(f, path, d.batch, func(ids []string) error {
		if err := send(cmd.Context(), ids); err != nil {
			if sent > 0 {
				return fmt.Errorf("%w (%d ids before this batch were sent)", err, sent)
			}
			return err
		}
		sent += len(ids)
		return bar.Add(len(ids))
	})
	if err != nil {
		_ = bar.Exit()
		return read, err
	}
	return read, bar.Finish()
}

// scanIDs calls batch with every batchSize ids of r (the last batch may be
// shorter) and returns how many ids it read. Blank lines and comments (from
// # to the end of the line; an id cannot hold #) are skipped; an invalid id
// stops the scan with its line number.
func scanIDs(r io.Reader, name string, batchSize int, batch func([]string) error) (int, error) {
	sc := bufio.NewScanner(r)
	ids := make([]string, 0, batchSize)
	n := 0
	for line := 1; sc.Scan(); line++ {
		id := sc.Text()
		if i := strings.IndexByte(id, '#'); i >= 0 {
			id = id[:i]
		}
		id = strings.TrimSpace(id)
		if id == "" {
			continue
		}
		if !ration.UserIDPattern.MatchString(id) {
			return n, fmt.Errorf("%s:%d: %q is not a valid user id (1 to 64 of A-Z a-z 0-9 _ . : -)", name, line, id)
		}
		ids = append(ids, id)
		n++
		if len(ids) == batchSize {
			if err := batch(ids); err != nil {
				return n, err
			}
			ids = ids[:0]
		}
	}
	if err := sc.Err(); err != nil {
		return n, fmt.Errorf("%s: %w", name, err)
	}
	if len(ids) > 0 {
		return n, batch(ids)
	}
	return n, nil
}

func printUsers(w io.Writer, users []ration.DMUser, header, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		for _, u := range users {
			if err := enc.Encode(u); err != nil {
				return err
			}
		}
		return nil
	}
	// One table per page: a listing of millions is not held in memory, at
	// the price of columns that may shift between pages.
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if header {
		fmt.Fprintln(tw, "USER\tSTATE\tPRIORITY\tMARKED\tCHECKED\tOPEN DM\tATTEMPTS")
	}
	for _, u := range users {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", u.UserID, u.State, orDash(u.Priority),
			stampOr(u.MarkedAt, "-"), stampOr(u.CheckedAt, "-"), openDM(u.OpenDM), u.Attempts)
	}
	return tw.Flush()
}

func writeIndented(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

func orDash(s *string) string {
	if s == nil || *s == "" {
		return "-"
	}
	return *s
}

// stampOr formats t, or says none when there is no time.
func stampOr(t *ration.Timestamp, none string) string {
	if t == nil {
		return none
	}
	return t.UTC().Format(ration.TimestampLayout)
}

// writeFields writes one record's fields as "name  value" lines, leaving
// out those without a value.
func writeFields(w io.Writer, fields [][2]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, f := range fields {
		if f[1] != "" {
			fmt.Fprintf(tw, "%s\t%s\n", f[0], f[1])
		}
	}
	return tw.Flush()
}

func openDM(b *bool) string {
	switch {
	case b == nil:
		return "-"
	case *b:
		return "yes"
	default:
		return "no"
	}
}

// isTerminal reports whether w is a character device, where a progress bar
// redraws in place; in a pipe or a log file it would only add noise.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
