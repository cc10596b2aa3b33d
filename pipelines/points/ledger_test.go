package points

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// ledgerOf returns a group created by alice, joined by bob, holding
// balance points.
func ledgerOf(t *testing.T, balance int64) *Group {
	t.Helper()
	var g Group
	if o := decide(&g, false, &Command{Kind: KindCreate, GroupID: "g-1", UserID: "001-alice", Name: "flat"}, t0); o.Outcome != Applied {
		t.Fatalf("create: %+v", o)
	}
	if o := decide(&g, true, &Command{Kind: KindJoin, GroupID: "g-1", UserID: "002-bob"}, t0); o.Outcome != Applied {
		t.Fatalf("join: %+v", o)
	}
	g.Balance = balance
	return &g
}

func TestDecide(t *testing.T) {
	coffee := Line{ItemID: "coffee", Name: "coffee", Quantity: 2, Price: 350, Points: 10}
	for _, tc := range []struct {
		name    string
		balance int64
		exists  bool
		c       Command
		outcome string
		reason  string
		points  int64
		after   int64
	}{
		{"bill a member", 5, true, Command{Kind: KindBill, UserID: "002-bob", Lines: []Line{coffee}}, Applied, "", 20, 25},
		{"bill a stranger", 5, true, Command{Kind: KindBill, UserID: "003-carol", Lines: []Line{coffee}}, Rejected, ReasonNotMember, 0, 5},
		{"bill no group", 0, false, Command{Kind: KindBill, UserID: "002-bob", Lines: []Line{coffee}}, Rejected, ReasonNoGroup, 0, 0},
		{"redeem all", 30, true, Command{Kind: KindRedeem, UserID: "001-alice", Points: 30}, Applied, "", -30, 0},
		{"redeem one too many", 29, true, Command{Kind: KindRedeem, UserID: "001-alice", Points: 30}, Rejected, ReasonInsufficient, 0, 29},
		{"redeem an item", 25, true, Command{Kind: KindRedeem, UserID: "002-bob", Lines: []Line{{Name: "cake", Quantity: 1, Points: 25}}}, Applied, "", -25, 0},
		{"redeem as a stranger", 100, true, Command{Kind: KindRedeem, UserID: "003-carol", Points: 1}, Rejected, ReasonNotMember, 0, 100},
		{"create twice", 0, true, Command{Kind: KindCreate, UserID: "003-carol", Name: "again"}, Rejected, ReasonGroupExists, 0, 0},
		{"overflow", 1<<63 - 10, true, Command{Kind: KindBill, UserID: "002-bob", Lines: []Line{coffee}}, Rejected, ReasonOverflow, 0, 1<<63 - 10},
		{"unknown kind", 7, true, Command{Kind: "transfer", UserID: "001-alice"}, Rejected, ReasonUnknownKind, 0, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := ledgerOf(t, tc.balance)
			seq := g.Seq
			o := decide(g, tc.exists, &tc.c, t0)
			if o.Outcome != tc.outcome || o.Reason != tc.reason || o.Points != tc.points || o.Balance != tc.after || g.Balance != tc.after {
				t.Fatalf("got %s %q points %d balance %d (group %d), want %s %q points %d balance %d",
					o.Outcome, o.Reason, o.Points, o.Balance, g.Balance, tc.outcome, tc.reason, tc.points, tc.after)
			}
			switch {
			case o.Outcome == Applied && (o.Seq != seq+1 || g.Seq != seq+1):
				t.Errorf("applied: seq %d, group seq %d, want %d", o.Seq, g.Seq, seq+1)
			case o.Outcome == Rejected && (o.Seq != 0 || g.Seq != seq):
				t.Errorf("rejected: seq %d, group seq %d (was %d), want 0 and unchanged", o.Seq, g.Seq, seq)
			}
		})
	}
}

// TestDiscountIsJudgedBeforeTheBill: a group is entitled by its members
// and balance as they were when the bill came, and the discount comes off
// the price, not the points.
func TestDiscountIsJudgedBeforeTheBill(t *testing.T) {
	tenOff := Discount{Percent: 10, MinMembers: 2, MinBalance: 100}
	bill := &Command{Kind: KindBill, UserID: "002-bob", Lines: []Line{{Name: "tv", Quantity: 1, Price: 50_000, Points: 500, Discount: tenOff}}}
	for _, tc := range []struct {
		name     string
		balance  int64
		members  int
		discount int64
	}{
		{"entitled", 100, 2, 5_000},
		{"balance too low", 99, 2, 0},
		{"too few members", 1000, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := ledgerOf(t, tc.balance)
			g.Members = g.Members[:tc.members]
			if tc.members < 2 {
				bill.UserID = "001-alice"
			}
			o := decide(g, true, bill, t0)
			if o.Outcome != Applied || o.Discount != tc.discount || o.Charged != 50_000-tc.discount || o.Points != 500 {
				t.Fatalf("got %+v, want discount %d", o, tc.discount)
			}
		})
	}
}

func TestJoinTwiceIsOneMember(t *testing.T) {
	g := ledgerOf(t, 0)
	o := decide(g, true, &Command{Kind: KindJoin, UserID: "002-bob"}, t0)
	if o.Outcome != Applied || len(g.Members) != 2 {
		t.Fatalf("%+v, members %v", o, g.Members)
	}
}

func TestTokens(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	tk, err := NewTokens(secret, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	now := t0
	tk.now = func() time.Time { return now }
	token, exp := tk.Issue("001-abcdef")
	if u, err := tk.User(token); err != nil || u != "001-abcdef" {
		t.Fatalf("User = %q, %v", u, err)
	}
	if p, ok := tk.Authenticate(token); !ok || p.Name != "user:001-abcdef" {
		t.Fatalf("Authenticate = %+v, %v", p, ok)
	}
	other, _ := NewTokens([]byte("another secret, just as long as it is"), time.Hour)
	if _, err := other.User(token); err == nil {
		t.Error("another secret's API accepted the token")
	}
	forged := token[:len(token)-2] + "AA"
	if _, err := tk.User(forged); err == nil {
		t.Error("a forged signature passed")
	}
	now = exp
	if _, err := tk.User(token); err == nil {
		t.Error("an expired token passed")
	}
	if _, err := NewTokens([]byte("short"), time.Hour); err == nil {
		t.Error("a short secret was taken")
	}
}

func TestUserIDsCarryTheRegion(t *testing.T) {
	for region, prefix := range Regions {
		id := newID(prefix, 6)
		if len(id) != 10 || id[:4] != prefix+"-" {
			t.Fatalf("%s: id %q", region, id)
		}
		if r, ok := RegionOf(id); !ok || r != region {
			t.Fatalf("RegionOf(%q) = %q, %v", id, r, ok)
		}
	}
}
