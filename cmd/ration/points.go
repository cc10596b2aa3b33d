package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/api/apiclient"
	"github.com/rationhq/ration/pipelines/points"
)

// pointsCLI holds the flags the points commands share: the API and an API
// key (--key) for what an API client does (users, the catalogue), and a
// user's session for what a person does (groups, bills, redemptions).
type pointsCLI struct {
	apiFlags
	token         string
	user          string
	passwordStdin bool
}

func newPointsCmd(_ *globals) *cobra.Command {
	p := &pointsCLI{apiFlags: defaultAPIFlags()}
	cmd := &cobra.Command{
		Use:   "points",
		Short: "The points system: a menu for people, commands for scripts",
		Long: `With a terminal and no command, a menu: log in, then see the catalogue and
your groups, join a group, redeem points, read the history, and (staff)
bill a user.

The commands below do the same for scripts. A user's commands act as the
user: --token (or RATION_POINTS_TOKEN) from "ration points login", or
--user with the password on stdin (--password-stdin) or asked for. Adding
users and items takes an API key (--key, or RATION_API_KEY).`,
		Example: `  ration points users add --name alice --region R1 --password-stdin < pw
  export RATION_POINTS_TOKEN=$(ration points login 001-ABC123 --password-stdin < pw | sed -n 's/^token=//p')
  ration points groups create "flat 3" --location Riga
  ration points redeem --group g-0123456789 --item coffee`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !isTerminalIn(cmd.InOrStdin()) {
				return cmd.Help()
			}
			return p.menu(cmd)
		},
	}
	pf := cmd.PersistentFlags()
	p.apiFlags.bind(pf)
	pf.StringVar(&p.token, "token", "", "a user's token from \"ration points login\" (prefer RATION_POINTS_TOKEN: flags show in ps)")
	pf.StringVar(&p.user, "user", "", "log in as this user id first, instead of a token")
	pf.BoolVar(&p.passwordStdin, "password-stdin", false, "read the password from stdin's first line (default: ask on the terminal)")
	cmd.AddCommand(p.loginCmd(), p.catalogueCmd(), p.usersCmd(), p.groupsCmd(), p.joinCmd(), p.billCmd(), p.redeemCmd(), p.batchCmd(), p.historyCmd())
	return cmd
}

// isTerminalIn reports whether r is a terminal a person types at: a menu
// there, help or a password read from a pipe elsewhere.
func isTerminalIn(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// password reads a password: stdin's first line with --password-stdin,
// else asked for on the terminal without echo.
func (p *pointsCLI) password(cmd *cobra.Command, prompt string) (string, error) {
	in := cmd.InOrStdin()
	if p.passwordStdin {
		line, err := bufio.NewReader(in).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("password from stdin: %w", err)
		}
		if line = strings.TrimRight(line, "\r\n"); line == "" {
			return "", errors.New("--password-stdin: stdin has no password")
		}
		return line, nil
	}
	if !isTerminalIn(in) {
		return "", errors.New("no terminal to ask for the password on: pass it on stdin with --password-stdin")
	}
	fmt.Fprint(cmd.ErrOrStderr(), prompt+": ")
	b, err := term.ReadPassword(int(in.(*os.File).Fd()))
	fmt.Fprintln(cmd.ErrOrStderr())
	return string(b), err
}

// pointsUser is a logged-in user. The commands and the menu act through
// its methods, so that both do the same.
type pointsUser struct {
	ration.PointsSession
	c *apiclient.Client
}

// login logs user in.
func (p *pointsCLI) login(ctx context.Context, user, password string) (*pointsUser, error) {
	s, err := p.apiFlags.client().PointsLogin(ctx, user, password)
	if err != nil {
		return nil, err
	}
	return &pointsUser{PointsSession: s, c: apiclient.New(p.api, nil).WithKey(s.Token)}, nil
}

// session returns the user a command acts as: --user after a login, else
// the one a token names (--token, else RATION_POINTS_TOKEN).
func (p *pointsCLI) session(cmd *cobra.Command) (*pointsUser, error) {
	if p.user != "" {
		pw, err := p.password(cmd, "password of "+p.user)
		if err != nil {
			return nil, err
		}
		return p.login(cmd.Context(), p.user, pw)
	}
	token := p.userToken()
	if token == "" {
		return nil, errors.New("this acts as a user: pass --token (or RATION_POINTS_TOKEN) from `ration points login`, or --user")
	}
	c := apiclient.New(p.api, nil).WithKey(token)
	me, err := c.PointsMe(cmd.Context())
	if err != nil {
		return nil, fmt.Errorf("--token: %w", err)
	}
	return &pointsUser{PointsSession: ration.PointsSession{Token: token, UserID: me.UserID, Name: me.Name, Staff: me.Staff}, c: c}, nil
}

// userToken is the token given, if any: --token, else
// RATION_POINTS_TOKEN.
func (p *pointsCLI) userToken() string {
	if p.token != "" {
		return p.token
	}
	return os.Getenv("RATION_POINTS_TOKEN")
}

// newCommandID names a command so that sending it again is safe.
func newCommandID() string { return strings.ToLower(rand.Text()) }

// commandTries bounds how often a command is sent: again after a network
// error, a 5xx or a pending answer, under the same command id, which the
// ledger answers with its first outcome.
const commandTries = 5

// errRejected fails a script's command the ledger rejected; the outcome
// line has said why.
var errRejected = errors.New("the ledger rejected the command")

// command sends a command under id (a new one if empty) until the ledger
// decides it, prints the outcome and returns it.
func (u *pointsUser) command(ctx context.Context, w io.Writer, id string, send func(context.Context, string) (ration.PointsOutcome, error)) (ration.PointsOutcome, error) {
	if id == "" {
		id = newCommandID()
	}
	var o ration.PointsOutcome
	err := retry(ctx, func() (bool, error) {
		var err error
		o, err = send(ctx, id)
		return !undecided(o, err), err
	})
	if undecided(o, err) {
		if err == nil {
			err = errors.New(ration.PointsPending)
		}
		return o, fmt.Errorf("command %s not decided yet (%w): sending it again with --command-id %s is safe", id, err, id)
	}
	if err == nil {
		fmt.Fprintln(w, outcomeLine(o))
	}
	return o, err
}

// retry calls send until it is done (every command decided, or refused),
// up to commandTries times, backing off between tries while ctx lasts,
// and returns send's last error.
func retry(ctx context.Context, send func() (done bool, err error)) error {
	backoff := 500 * time.Millisecond
	for try := 1; ; try++ {
		done, err := send()
		if done || try == commandTries || ctx.Err() != nil {
			return err
		}
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
		}
		backoff = min(2*backoff, 4*time.Second)
	}
}

// undecided says whether an answer leaves a command's fate open: a
// network error, a 5xx (the API could not store it), or pending.
func undecided(o ration.PointsOutcome, err error) bool {
	var ae *apiclient.Error
	if errors.As(err, &ae) {
		return ae.Status >= 500
	}
	return err != nil || o.Outcome == ration.PointsPending
}

// outcomeLine says what the ledger decided, in one line.
func outcomeLine(o ration.PointsOutcome) string {
	switch o.Outcome {
	case ration.PointsRejected:
		return fmt.Sprintf("rejected: %s (balance %d)", o.Reason, o.Balance)
	case ration.PointsConflict:
		return "conflict: the command_id was used for another command"
	}
	line := fmt.Sprintf("%s: %+d points, balance %d in group %s", o.Outcome, o.Points, o.Balance, o.GroupID)
	if o.Detail != "" {
		line += " (" + o.Detail + ")"
	}
	if o.Kind == points.KindBill {
		line += fmt.Sprintf(", charged %.2f, discount %.2f", o.Charged, o.Discount)
	}
	if o.Repeat {
		line += ", decided before"
	}
	return line
}

// commandIDFlag lets a script send a command again under the id it was
// told to.
func commandIDFlag(cmd *cobra.Command, id *string) {
	cmd.Flags().StringVar(id, "command-id", "", "the command's id, to send it again safely (default: a new one)")
}

func (p *pointsCLI) loginCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "login USER_ID",
		Short: "Log in: prints token=... (pass it as --token or RATION_POINTS_TOKEN) and when it expires",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, err := p.password(cmd, "password of "+args[0])
			if err != nil {
				return err
			}
			u, err := p.login(cmd.Context(), args[0], pw)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "token=%s\nexpires=%s\n", u.Token, stampOr(&u.ExpiresAt, "-"))
			return nil
		},
	}
}

// showCatalogue prints the catalogue as a table.
func showCatalogue(ctx context.Context, c *apiclient.Client, w io.Writer) error {
	items, err := c.PointsCatalogue(ctx)
	if err != nil {
		return err
	}
	return writeCatalogue(w, items)
}

// writeCatalogue prints items as a table.
func writeCatalogue(w io.Writer, items []ration.PointsItem) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ITEM\tNAME\tPRICE\tPOINTS\tDISCOUNT")
	for _, it := range items {
		discount := "-"
		if d := it.Discount; d != nil {
			discount = fmt.Sprintf("%d%% for %d+ members, %d+ points", d.Percent, d.MinMembers, d.MinBalance)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.2f\t%d\t%s\n", it.ItemID, it.Name, it.Price, it.Points, discount)
	}
	return tw.Flush()
}

func (p *pointsCLI) catalogueCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "catalogue",
		Short: "The catalogue: what each item costs and earns (as a user, or with an API key)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := p.apiFlags.client()
			if p.userToken() != "" || p.user != "" {
				u, err := p.session(cmd)
				if err != nil {
					return err
				}
				c = u.c
			}
			return showCatalogue(cmd.Context(), c, cmd.OutOrStdout())
		},
	}
	var (
		it       ration.PointsItem
		discount ration.PointsDiscount
	)
	put := &cobra.Command{
		Use:   "put ITEM_ID",
		Short: "Put an item into the catalogue (admin API key)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			it.ItemID = args[0]
			if discount.Percent > 0 {
				it.Discount = &discount
			}
			got, err := p.apiFlags.client().PutPointsItem(cmd.Context(), it)
			if err != nil {
				return err
			}
			return writeCatalogue(cmd.OutOrStdout(), []ration.PointsItem{got})
		},
	}
	fs := put.Flags()
	fs.StringVar(&it.Name, "name", "", "the item's name")
	fs.Float64Var(&it.Price, "price", 0, "its price, to the cent")
	fs.Int64Var(&it.Points, "points", 0, "the points buying one earns, and redeeming one costs")
	fs.Int32Var(&discount.Percent, "discount-percent", 0, "percent off the price for a group entitled to it (0: no discount)")
	fs.Int32Var(&discount.MinMembers, "discount-min-members", 0, "members a group needs for the discount")
	fs.Int64Var(&discount.MinBalance, "discount-min-balance", 0, "balance a group needs for the discount")
	_ = put.MarkFlagRequired("name")
	cmd.AddCommand(put)
	return cmd
}

func (p *pointsCLI) usersCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "users", Short: "Users of the points system (API key)"}
	var u ration.PointsNewUser
	add := &cobra.Command{
		Use:   "add",
		Short: "Add a user (staff: admin API key); prints user_id=...",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pw, err := p.password(cmd, "password of the new user")
			if err != nil {
				return err
			}
			u.Password = pw
			id, err := p.apiFlags.client().CreatePointsUser(cmd.Context(), u)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "user_id=%s\n", id)
			return nil
		},
	}
	fs := add.Flags()
	fs.StringVar(&u.Name, "name", "", "the user's name")
	fs.StringVar(&u.Region, "region", "", "the user's home region: R1, R2 or R3")
	fs.BoolVar(&u.Staff, "staff", false, "staff may bill users")
	_ = add.MarkFlagRequired("name")
	_ = add.MarkFlagRequired("region")
	cmd.AddCommand(add)
	return cmd
}

// groups prints the user's groups and their balances.
func (u *pointsUser) groups(ctx context.Context, w io.Writer) error {
	got, err := u.c.PointsUser(ctx, u.UserID)
	if err != nil {
		return err
	}
	if len(got.Groups) == 0 {
		fmt.Fprintln(w, "no groups yet: create one, or join one")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tNAME\tLOCATION\tBALANCE\tMEMBERS")
	for _, g := range got.Groups {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", g.GroupID, g.Name, g.Location, g.Balance, strings.Join(g.Members, " "))
	}
	return tw.Flush()
}

func (p *pointsCLI) groupsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "groups",
		Short: "Your groups and their balances",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			u, err := p.session(cmd)
			if err != nil {
				return err
			}
			return u.groups(cmd.Context(), cmd.OutOrStdout())
		},
	}
	var g ration.PointsNewGroup
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a group, you its first member",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			u, err := p.session(cmd)
			if err != nil {
				return err
			}
			g.Name = args[0]
			_, err = u.command(cmd.Context(), cmd.OutOrStdout(), g.CommandID, func(ctx context.Context, id string) (ration.PointsOutcome, error) {
				g.CommandID = id
				return u.c.CreatePointsGroup(ctx, g)
			})
			return err
		},
	}
	create.Flags().StringVar(&g.Location, "location", "", "where the group is")
	_ = create.MarkFlagRequired("location")
	commandIDFlag(create, &g.CommandID)
	cmd.AddCommand(create)
	return cmd
}

// join joins the user to group.
func (u *pointsUser) join(ctx context.Context, w io.Writer, group, id string) error {
	_, err := u.command(ctx, w, id, func(ctx context.Context, id string) (ration.PointsOutcome, error) {
		return u.c.JoinPointsGroup(ctx, group, id)
	})
	return err
}

func (p *pointsCLI) joinCmd() *cobra.Command {
	var id string
	cmd := &cobra.Command{
		Use:   "join GROUP_ID",
		Short: "Join a group",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			u, err := p.session(cmd)
			if err != nil {
				return err
			}
			return u.join(cmd.Context(), cmd.OutOrStdout(), args[0], id)
		},
	}
	commandIDFlag(cmd, &id)
	return cmd
}

// bill bills a user (staff only).
func (u *pointsUser) bill(ctx context.Context, w io.Writer, b ration.PointsBill) (ration.PointsOutcome, error) {
	return u.command(ctx, w, b.CommandID, func(ctx context.Context, id string) (ration.PointsOutcome, error) {
		b.CommandID = id
		return u.c.Bill(ctx, b)
	})
}

// billLines reads ITEM_ID:QTY arguments; a bare ITEM_ID is one of it.
func billLines(args []string) ([]ration.PointsBillLine, error) {
	lines := make([]ration.PointsBillLine, len(args))
	for i, a := range args {
		item, qty, hasQty := strings.Cut(a, ":")
		lines[i] = ration.PointsBillLine{ItemID: item, Quantity: 1}
		if !hasQty {
			continue
		}
		n, err := strconv.ParseInt(qty, 10, 64)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q: want ITEM_ID:QUANTITY, the quantity a whole number from 1", a)
		}
		lines[i].Quantity = n
	}
	return lines, nil
}

func (p *pointsCLI) billCmd() *cobra.Command {
	var b ration.PointsBill
	cmd := &cobra.Command{
		Use:     "bill ITEM_ID[:QUANTITY]...",
		Short:   "Bill a user for items, earning their group the points (staff)",
		Example: `  RATION_POINTS_TOKEN=$STAFF_TOKEN ration points bill --user 002-XYZ789 --group g-0123456789 coffee:2 tv`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			lines, err := billLines(args)
			if err != nil {
				return err
			}
			b.Items = lines
			u, err := p.session(cmd)
			if err != nil {
				return err
			}
			o, err := u.bill(cmd.Context(), cmd.OutOrStdout(), b)
			return failRejected(o, err)
		},
	}
	// --user names whom to bill here, not whom to log in as: staff bill
	// with --token.
	cmd.Flags().StringVar(&b.UserID, "user", "", "the user billed (here --user is not a login: bill with --token)")
	cmd.Flags().StringVar(&b.GroupID, "group", "", "the user's group that earns the points")
	_ = cmd.MarkFlagRequired("user")
	_ = cmd.MarkFlagRequired("group")
	commandIDFlag(cmd, &b.CommandID)
	return cmd
}

// failRejected turns a rejection into a failed command for scripts.
func failRejected(o ration.PointsOutcome, err error) error {
	if err == nil && o.Outcome == ration.PointsRejected {
		return errRejected
	}
	return err
}

// redeem spends a group's points.
func (u *pointsUser) redeem(ctx context.Context, w io.Writer, r ration.PointsRedemption) (ration.PointsOutcome, error) {
	return u.command(ctx, w, r.CommandID, func(ctx context.Context, id string) (ration.PointsOutcome, error) {
		r.CommandID = id
		return u.c.Redeem(ctx, r)
	})
}

func (p *pointsCLI) redeemCmd() *cobra.Command {
	var r ration.PointsRedemption
	cmd := &cobra.Command{
		Use:   "redeem",
		Short: "Spend a group's points: an item's, or a number",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			u, err := p.session(cmd)
			if err != nil {
				return err
			}
			o, err := u.redeem(cmd.Context(), cmd.OutOrStdout(), r)
			return failRejected(o, err)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&r.GroupID, "group", "", "the group whose points are spent")
	fs.StringVar(&r.ItemID, "item", "", "an item of the catalogue, for its points")
	fs.Int64Var(&r.Points, "points", 0, "a number of points")
	_ = cmd.MarkFlagRequired("group")
	cmd.MarkFlagsOneRequired("item", "points")
	cmd.MarkFlagsMutuallyExclusive("item", "points")
	commandIDFlag(cmd, &r.CommandID)
	return cmd
}

func (p *pointsCLI) batchCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "batch FILE",
		Short: "Send many bills and redemptions at once, from a JSON file (- for stdin)",
		Long: `Sends the commands of FILE, {"commands": [...]} as POST /v1/points/commands
takes them (each {"kind": "bill" or "redeem", "command_id", "group_id", and
a bill's user_id and items or a redemption's item_id or points}), up to
1 000, as the logged-in user (bills need staff). A batch with any invalid
command is refused whole, a reason per command. Commands not decided yet
are sent again with their ids, as a single command is. Prints a line per
command, "COMMAND_ID: <outcome>", in the file's order, and fails if any
was rejected.`,
		Example: `  RATION_POINTS_TOKEN=$STAFF_TOKEN ration points batch till-1-2026-11-27.json`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := readFileArg(cmd, args[0])
			if err != nil {
				return err
			}
			var in ration.PointsBatch
			if err := json.Unmarshal(b, &in); err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			u, err := p.session(cmd)
			if err != nil {
				return err
			}
			err = u.batch(cmd.Context(), cmd.OutOrStdout(), in.Commands)
			printReasons(cmd.ErrOrStderr(), err)
			return err
		},
	}
}

// batch sends cmds at once, the undecided again as command sends one,
// and prints each outcome in cmds' order.
func (u *pointsUser) batch(ctx context.Context, w io.Writer, cmds []ration.PointsBatchCommand) error {
	outcomes := make(map[string]ration.PointsOutcome, len(cmds))
	todo := cmds
	err := retry(ctx, func() (bool, error) {
		out, err := u.c.PointsBatch(ctx, ration.PointsBatch{Commands: todo})
		if err != nil {
			return !undecided(ration.PointsOutcome{}, err), err
		}
		var again []ration.PointsBatchCommand
		for i, c := range todo {
			if out.Outcomes[i].Outcome == ration.PointsPending {
				again = append(again, c)
			} else {
				outcomes[c.CommandID] = out.Outcomes[i]
			}
		}
		todo = again
		return len(todo) == 0, nil
	})
	if err != nil && !undecided(ration.PointsOutcome{}, err) {
		return err
	}
	if len(todo) > 0 {
		return fmt.Errorf("%d commands not decided yet: sending the file again is safe", len(todo))
	}
	refused := false
	for _, c := range cmds {
		o := outcomes[c.CommandID]
		refused = refused || o.Outcome != ration.PointsApplied
		fmt.Fprintf(w, "%s: %s\n", c.CommandID, outcomeLine(o))
	}
	if refused {
		return errRejected
	}
	return nil
}

// historyLines is how much of the history a person sees at once.
const historyLines = 20

// history prints a page of ledger entries, newest first: group's, or the
// user's own in every group when group is empty.
func (u *pointsUser) history(ctx context.Context, w io.Writer, group string, limit int) error {
	var (
		h   ration.PointsHistory
		err error
	)
	if group != "" {
		h, err = u.c.PointsGroupHistory(ctx, group, "", limit)
	} else {
		h, err = u.c.PointsUserHistory(ctx, u.UserID, "", limit)
	}
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "AT\tGROUP\tSEQ\tKIND\tUSER\tBY\tPOINTS\tBALANCE\tDETAIL")
	for _, e := range h.Entries {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%+d\t%d\t%s\n",
			stampOr(&e.At, "-"), e.GroupID, e.Seq, e.Kind, e.UserID, e.Issuer, e.Points, e.Balance, e.Detail)
	}
	return tw.Flush()
}

func (p *pointsCLI) historyCmd() *cobra.Command {
	var (
		group string
		limit int
	)
	cmd := &cobra.Command{
		Use:   "history",
		Short: "Who earned or spent what, newest first: a group's, or your own",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			u, err := p.session(cmd)
			if err != nil {
				return err
			}
			return u.history(cmd.Context(), cmd.OutOrStdout(), group, limit)
		},
	}
	cmd.Flags().StringVar(&group, "group", "", "a group you are a member of (default: your own entries in every group)")
	cmd.Flags().IntVar(&limit, "limit", historyLines, "entries to show")
	return cmd
}
