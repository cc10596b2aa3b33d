package devstack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/api/apiclient"
)

// TestPointsBatches: a staff member's batch of bills and a member's batch
// of redemptions are each decided as if sent alone, in the batch's order
// of outcomes; a batch sent again answers the same, as repeats; a batch
// with one bad command is refused whole with a reason at that command,
// and none of it reaches the ledger; a command_id reused for another
// command is a conflict, a group the caller is not in a rejection.
func TestPointsBatches(t *testing.T) {
	s := startStack(t, t.TempDir())
	ctx := context.Background()
	if _, err := s.api.PutPointsItem(ctx, ration.PointsItem{ItemID: "coffee", Name: "coffee", Price: 3.5, Points: 10}); err != nil {
		t.Fatal(err)
	}
	staff := s.pointsUser(t, s.api, "sam", "R1", true)
	alice := s.pointsUser(t, s.api, "alice", "R1", false)
	carol := s.pointsUser(t, s.api, "carol", "R3", false)
	me, err := alice.PointsMe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	created, err := alice.CreatePointsGroup(ctx, ration.PointsNewGroup{Name: "flat 3", Location: "Riga", CommandID: "g1"})
	if err != nil || created.Outcome != ration.PointsApplied {
		t.Fatalf("create: %+v, %v", created, err)
	}
	group := created.GroupID
	outcomes := func(c *apiclient.Client, cmds ...ration.PointsBatchCommand) []ration.PointsOutcome {
		t.Helper()
		out, err := c.PointsBatch(ctx, ration.PointsBatch{Commands: cmds})
		if err != nil || len(out.Outcomes) != len(cmds) {
			t.Fatalf("batch of %d: %+v, %v", len(cmds), out, err)
		}
		return out.Outcomes
	}
	coffees := func(id string, n int64) ration.PointsBatchCommand {
		return ration.PointsBatchCommand{Kind: "bill", CommandID: id, UserID: me.UserID, GroupID: group,
			Items: []ration.PointsBillLine{{ItemID: "coffee", Quantity: n}}}
	}

	// Ten bills of one to ten coffees: 550 points.
	var bills []ration.PointsBatchCommand
	for i := range 10 {
		bills = append(bills, coffees(fmt.Sprintf("b%d", i), int64(i+1)))
	}
	var balance int64
	for i, o := range outcomes(staff, bills...) {
		balance += 10 * int64(i+1)
		if o.Outcome != ration.PointsApplied || o.CommandID != bills[i].CommandID || o.Points != 10*int64(i+1) || o.Repeat {
			t.Fatalf("bill %d: %+v", i, o)
		}
	}
	// Again: the same outcomes, as repeats.
	for i, o := range outcomes(staff, bills...) {
		if o.Outcome != ration.PointsApplied || o.Points != 10*int64(i+1) || !o.Repeat {
			t.Fatalf("bill %d sent again: %+v", i, o)
		}
	}
	// Redemptions of 100 points each: five applied, the sixth rejected
	// with the balance left, in the batch's order; balances never negative.
	var reds []ration.PointsBatchCommand
	for i := range 6 {
		reds = append(reds, ration.PointsBatchCommand{Kind: "redeem", CommandID: fmt.Sprintf("r%d", i), GroupID: group, Points: 100})
	}
	for i, o := range outcomes(alice, reds...) {
		want := ration.PointsApplied
		if i == 5 {
			want = ration.PointsRejected
		}
		if o.Outcome != want || o.Balance < 0 || (i == 5 && (o.Reason != "insufficient_points" || o.Balance != balance-500)) {
			t.Fatalf("redemption %d of a balance of %d: %+v, want %s", i, balance, o, want)
		}
	}
	// A command_id used for another command, and a group carol is not in.
	got := outcomes(staff, coffees("b0", 3))
	if got[0].Outcome != ration.PointsConflict {
		t.Fatalf("b0 again with another bill: %+v, want a conflict", got[0])
	}
	got = outcomes(carol, ration.PointsBatchCommand{Kind: "redeem", CommandID: "c1", GroupID: group, Points: 1})
	if got[0].Outcome != ration.PointsRejected || got[0].Reason != "not_member" {
		t.Fatalf("carol redeeming from alice's group: %+v, want rejected, not_member", got[0])
	}

	// Refused whole, before anything is sent.
	for _, bad := range []struct {
		name   string
		caller *apiclient.Client
		cmds   []ration.PointsBatchCommand
		status int
		path   string
	}{
		{"an unknown item", staff, []ration.PointsBatchCommand{coffees("x1", 1), {Kind: "bill", CommandID: "x2", UserID: me.UserID, GroupID: group,
			Items: []ration.PointsBillLine{{ItemID: "caviar", Quantity: 1}}}}, http.StatusUnprocessableEntity, "/commands/1/items/0/item_id"},
		{"a command id twice", staff, []ration.PointsBatchCommand{coffees("x1", 1), coffees("x1", 2)}, http.StatusUnprocessableEntity, "/commands/1"},
		{"a kind not known", alice, []ration.PointsBatchCommand{{Kind: "gift", CommandID: "x1", GroupID: group, Points: 1}}, http.StatusUnprocessableEntity, "/commands/0"},
		{"a redemption for another user", alice, []ration.PointsBatchCommand{{Kind: "redeem", CommandID: "x1", GroupID: group, UserID: me.UserID, Points: 1}},
			http.StatusUnprocessableEntity, "/commands/0"},
		{"a bill by a user who is not staff", alice, []ration.PointsBatchCommand{coffees("x1", 1)}, http.StatusForbidden, ""},
		{"no commands", staff, nil, http.StatusUnprocessableEntity, ""},
	} {
		_, err := bad.caller.PointsBatch(ctx, ration.PointsBatch{Commands: bad.cmds})
		var e *apiclient.Error
		if status(err) != bad.status {
			t.Fatalf("%s: %v, want %d", bad.name, err, bad.status)
		}
		if bad.path != "" {
			if !errors.As(err, &e) || len(e.Reasons) != 1 || e.Reasons[0].Path != bad.path {
				t.Fatalf("%s: %+v, want one reason at %s", bad.name, e, bad.path)
			}
		}
	}
	// x1 was never sent: its first sending now is no repeat.
	got = outcomes(staff, coffees("x1", 1))
	if got[0].Outcome != ration.PointsApplied || got[0].Repeat || got[0].Balance != balance-500+10 {
		t.Fatalf("x1 after the refused batches: %+v, want applied, no repeat, balance %d", got[0], balance-500+10)
	}
}
