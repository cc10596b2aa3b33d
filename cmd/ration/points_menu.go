package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/charmbracelet/huh"
	"github.com/spf13/cobra"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/api/apiclient"
)

// pointsMenu is a person at a terminal: forms ask, the same methods as
// the commands' act and print.
type pointsMenu struct {
	in  io.Reader
	out io.Writer
	u   *pointsUser
	// group is the group last named, offered again.
	group string
}

// menuAction is a choice of the menu; run nil quits.
type menuAction struct {
	label     string
	staffOnly bool
	run       func(context.Context) error
}

// menu logs a person in and offers what they may do until they quit
// (or press ctrl+c at the menu; in a form it goes back to the menu).
func (p *pointsCLI) menu(cmd *cobra.Command) error {
	ctx := cmd.Context()
	m := &pointsMenu{in: cmd.InOrStdin(), out: cmd.OutOrStdout()}
	u, err := m.login(ctx, p)
	if errors.Is(err, huh.ErrUserAborted) {
		return nil
	}
	if err != nil {
		return err
	}
	m.u = u
	fmt.Fprintf(m.out, "logged in as %s (%s) until %s\n", u.Name, u.UserID, u.ExpiresAt.Local().Format("15:04"))
	actions := []menuAction{
		{label: "Catalogue", run: func(ctx context.Context) error { return showCatalogue(ctx, m.u.c, m.out) }},
		{label: "My groups and points", run: func(ctx context.Context) error { return m.u.groups(ctx, m.out) }},
		{label: "Join a group", run: m.join},
		{label: "Redeem points", run: m.redeem},
		{label: "History", run: m.history},
		{label: "Bill a user", staffOnly: true, run: m.bill},
		{label: "Quit"},
	}
	var options []huh.Option[int]
	for i, a := range actions {
		if !a.staffOnly || u.Staff {
			options = append(options, huh.NewOption(a.label, i))
		}
	}
	for {
		var choice int
		err := m.ask(ctx, huh.NewSelect[int]().Title(fmt.Sprintf("Points: %s (%s)", u.Name, u.UserID)).Options(options...).Value(&choice))
		switch {
		case errors.Is(err, huh.ErrUserAborted):
			return nil
		case err != nil:
			return err
		case actions[choice].run == nil:
			return nil
		}
		if err := actions[choice].run(ctx); err != nil && !errors.Is(err, huh.ErrUserAborted) {
			fmt.Fprintln(m.out, "error:", err)
		}
	}
}

// ask runs a form of fields on the menu's terminal.
func (m *pointsMenu) ask(ctx context.Context, fields ...huh.Field) error {
	return huh.NewForm(huh.NewGroup(fields...)).WithInput(m.in).WithOutput(m.out).RunWithContext(ctx)
}

// login asks for a user id and password until they log in.
func (m *pointsMenu) login(ctx context.Context, p *pointsCLI) (*pointsUser, error) {
	var user, password string
	for {
		err := m.ask(ctx,
			huh.NewInput().Title("User id").Value(&user).Validate(huh.ValidateNotEmpty()),
			huh.NewInput().Title("Password").EchoMode(huh.EchoModePassword).Value(&password).Validate(huh.ValidateNotEmpty()))
		if err != nil {
			return nil, err
		}
		u, err := p.login(ctx, user, password)
		var ae *apiclient.Error
		if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized {
			return u, err
		}
		fmt.Fprintln(m.out, "wrong user id or password")
		password = ""
	}
}

// groupInput asks for a group id, offering the last one named.
func (m *pointsMenu) groupInput(id *string) *huh.Input {
	*id = m.group
	return huh.NewInput().Title("Group id").Value(id).Validate(huh.ValidateNotEmpty())
}

// wholeNumber checks a number typed: 1 or more.
func wholeNumber(s string) error {
	if n, err := strconv.ParseInt(s, 10, 64); err != nil || n < 1 {
		return errors.New("a whole number from 1")
	}
	return nil
}

// itemOptions offers the catalogue's items, by name and points.
func (m *pointsMenu) itemOptions(ctx context.Context) ([]huh.Option[string], error) {
	items, err := m.u.c.PointsCatalogue(ctx)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, errors.New("the catalogue is empty")
	}
	options := make([]huh.Option[string], len(items))
	for i, it := range items {
		options[i] = huh.NewOption(fmt.Sprintf("%s (%d points)", it.Name, it.Points), it.ItemID)
	}
	return options, nil
}

func (m *pointsMenu) join(ctx context.Context) error {
	var group string
	if err := m.ask(ctx, m.groupInput(&group)); err != nil {
		return err
	}
	m.group = group
	return m.u.join(ctx, m.out, group, "")
}

func (m *pointsMenu) redeem(ctx context.Context) error {
	options, err := m.itemOptions(ctx)
	if err != nil {
		return err
	}
	// An empty item id stands for a number of points.
	options = append(options, huh.NewOption("a number of points", ""))
	var r ration.PointsRedemption
	r.ItemID = options[0].Value
	if err := m.ask(ctx, m.groupInput(&r.GroupID), huh.NewSelect[string]().Title("Redeem").Options(options...).Value(&r.ItemID)); err != nil {
		return err
	}
	m.group = r.GroupID
	if r.ItemID == "" {
		var n string
		if err := m.ask(ctx, huh.NewInput().Title("How many points").Value(&n).Validate(wholeNumber)); err != nil {
			return err
		}
		r.Points, _ = strconv.ParseInt(n, 10, 64)
	}
	_, err = m.u.redeem(ctx, m.out, r)
	return err
}

func (m *pointsMenu) history(ctx context.Context) error {
	var group string
	if err := m.ask(ctx, huh.NewInput().Title("Group id").Description("empty: your own entries in every group").Value(&group)); err != nil {
		return err
	}
	return m.u.history(ctx, m.out, group, historyLines)
}

// bill asks whom to bill and for what, an item a line until told that
// was the last.
func (m *pointsMenu) bill(ctx context.Context) error {
	options, err := m.itemOptions(ctx)
	if err != nil {
		return err
	}
	var b ration.PointsBill
	if err := m.ask(ctx, huh.NewInput().Title("User id (billed)").Value(&b.UserID).Validate(huh.ValidateNotEmpty()), m.groupInput(&b.GroupID)); err != nil {
		return err
	}
	m.group = b.GroupID
	for more := true; more; {
		line, quantity := ration.PointsBillLine{ItemID: options[0].Value}, "1"
		more = false
		if err := m.ask(ctx,
			huh.NewSelect[string]().Title("Item").Options(options...).Value(&line.ItemID),
			huh.NewInput().Title("Quantity").Value(&quantity).Validate(wholeNumber),
			huh.NewConfirm().Title("Another item?").Value(&more)); err != nil {
			return err
		}
		line.Quantity, _ = strconv.ParseInt(quantity, 10, 64)
		b.Items = append(b.Items, line)
	}
	_, err = m.u.bill(ctx, m.out, b)
	return err
}
