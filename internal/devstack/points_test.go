package devstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/api/apiclient"
)

// status returns the HTTP status of an API error, 0 for none.
func status(err error) int {
	var e *apiclient.Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// pointsUser creates a user through c and logs them in.
func (s *stack) pointsUser(t *testing.T, c *apiclient.Client, name, region string, staff bool) *apiclient.Client {
	t.Helper()
	ctx := context.Background()
	id, err := c.CreatePointsUser(ctx, ration.PointsNewUser{Name: name, Password: "secret-" + name, Region: region, Staff: staff})
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	sess, err := s.api.PointsLogin(ctx, id, "secret-"+name)
	if err != nil {
		t.Fatalf("login %s: %v", id, err)
	}
	return apiclient.New(s.addrs.API, nil).WithKey(sess.Token)
}

// TestPointsEndToEnd: people and groups, bills and redemptions through
// the API; who may do what; a balance that covers exactly K redemptions
// spent by 16 concurrent clients sending every command twice: exactly K
// applied, balance 0; the ledger in ClickHouse sums to the balance.
func TestPointsEndToEnd(t *testing.T) {
	s := startStack(t, t.TempDir())
	ctx := context.Background()
	shopKey, err := s.api.AddAPIClient(ctx, "signup", "write")
	if err != nil {
		t.Fatal(err)
	}
	shop := apiclient.New(s.addrs.API, nil).WithKey(shopKey.Key)

	// People: ids carry the region; only an admin makes staff.
	if _, err := shop.CreatePointsUser(ctx, ration.PointsNewUser{Name: "mallory", Password: "12345678", Region: "R1", Staff: true}); status(err) != http.StatusForbidden {
		t.Fatalf("staff by a write key: %v, want 403", err)
	}
	if _, err := shop.CreatePointsUser(ctx, ration.PointsNewUser{Name: "x", Password: "12345678", Region: "R9"}); status(err) != http.StatusUnprocessableEntity {
		t.Fatalf("region R9: %v, want 422", err)
	}
	ids := map[string]string{}
	for _, u := range []struct{ name, region string }{{"alice", "R1"}, {"bob", "R2"}, {"carol", "R3"}} {
		id, err := shop.CreatePointsUser(ctx, ration.PointsNewUser{Name: u.name, Password: "pw-of-" + u.name, Region: u.region})
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]string{"R1": "001-", "R2": "002-", "R3": "003-"}[u.region]; !strings.HasPrefix(id, want) || len(id) != 10 {
			t.Fatalf("%s of %s: id %q, want %s and six characters", u.name, u.region, id, want)
		}
		ids[u.name] = id
	}
	if _, err := s.api.PointsLogin(ctx, ids["alice"], "wrong password"); status(err) != http.StatusUnauthorized {
		t.Fatalf("a wrong password: %v, want 401", err)
	}
	login := func(name string) *apiclient.Client {
		sess, err := s.api.PointsLogin(ctx, ids[name], "pw-of-"+name)
		if err != nil {
			t.Fatal(err)
		}
		return apiclient.New(s.addrs.API, nil).WithKey(sess.Token)
	}
	alice, bob, carol := login("alice"), login("bob"), login("carol")
	staff := s.pointsUser(t, s.api, "sam", "R1", true)

	for _, it := range []ration.PointsItem{
		{ItemID: "coffee", Name: "coffee", Price: 3.5, Points: 10},
		{ItemID: "tv", Name: "television", Price: 500, Points: 500, Discount: &ration.PointsDiscount{Percent: 10, MinMembers: 2}},
	} {
		if _, err := s.api.PutPointsItem(ctx, it); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := alice.PutPointsItem(ctx, ration.PointsItem{ItemID: "free", Name: "free", Points: 1}); status(err) != http.StatusUnauthorized {
		t.Fatalf("a user putting an item: %v, want 401 (a user's token is no API key)", err)
	}

	// A group: created (again: the same), joined.
	created, err := alice.CreatePointsGroup(ctx, ration.PointsNewGroup{Name: "flat 3", Location: "Riga", CommandID: "g1"})
	if err != nil || created.Outcome != ration.PointsApplied {
		t.Fatalf("create: %+v, %v", created, err)
	}
	group := created.GroupID
	again, err := alice.CreatePointsGroup(ctx, ration.PointsNewGroup{Name: "flat 3", Location: "Riga", CommandID: "g1"})
	if err != nil || again.GroupID != group || !again.Repeat {
		t.Fatalf("create again: %+v, %v; want group %s, a repeat", again, err, group)
	}
	if o, err := bob.JoinPointsGroup(ctx, group, ""); err != nil || o.Outcome != ration.PointsApplied {
		t.Fatalf("bob joins: %+v, %v", o, err)
	}

	// Who may do what.
	bill := func(c *apiclient.Client, id, user string, items ...ration.PointsBillLine) (ration.PointsOutcome, error) {
		return c.Bill(ctx, ration.PointsBill{CommandID: id, UserID: user, GroupID: group, Items: items})
	}
	coffees := func(n int64) ration.PointsBillLine { return ration.PointsBillLine{ItemID: "coffee", Quantity: n} }
	if _, err := bill(alice, "b0", ids["bob"], coffees(1)); status(err) != http.StatusForbidden {
		t.Fatalf("a bill by a user who is not staff: %v, want 403", err)
	}
	if _, err := bill(staff, "b0", ids["carol"], coffees(1)); status(err) != http.StatusForbidden {
		t.Fatalf("billing carol against a group she is not in: %v, want 403", err)
	}
	if _, err := carol.Redeem(ctx, ration.PointsRedemption{CommandID: "r0", GroupID: group, Points: 1}); status(err) != http.StatusForbidden {
		t.Fatalf("carol redeeming from a group she is not in: %v, want 403", err)
	}
	if _, err := s.api.Redeem(ctx, ration.PointsRedemption{CommandID: "r0", GroupID: group, Points: 1}); status(err) != http.StatusUnauthorized {
		t.Fatalf("an API key redeeming: %v, want 401", err)
	}
	if _, err := carol.PointsGroup(ctx, group); status(err) != http.StatusNotFound {
		t.Fatalf("carol reading a group she is not in: %v, want 404", err)
	}
	if _, err := carol.PointsUserHistory(ctx, ids["bob"], "", 0); status(err) != http.StatusNotFound {
		t.Fatalf("carol reading bob's history: %v, want 404", err)
	}

	// Bad input: a clear 4xx with a JSON error, before anything is sent.
	token := func(name string) string {
		sess, err := s.api.PointsLogin(ctx, ids[name], "pw-of-"+name)
		if err != nil {
			t.Fatal(err)
		}
		return sess.Token
	}("alice")
	for _, bad := range []struct {
		name, contentType, body string
		want                    int
	}{
		{"malformed JSON", "application/json", `{"command_id": "x",`, http.StatusBadRequest},
		{"an unknown field", "application/json", `{"command_id": "x", "group_id": "` + group + `", "points": 1, "admin": true}`, http.StatusBadRequest},
		{"a wrong content type", "text/plain", `{}`, http.StatusUnsupportedMediaType},
		{"a body over 64 KiB", "application/json", `{"command_id": "` + strings.Repeat("x", 70_000) + `"}`, http.StatusRequestEntityTooLarge},
		{"no command id", "application/json", `{"group_id": "` + group + `", "points": 1}`, http.StatusUnprocessableEntity},
		{"an item and points", "application/json", `{"command_id": "x", "group_id": "` + group + `", "points": 1, "item_id": "coffee"}`, http.StatusUnprocessableEntity},
		{"negative points", "application/json", `{"command_id": "x", "group_id": "` + group + `", "points": -5}`, http.StatusUnprocessableEntity},
	} {
		req, _ := http.NewRequest(http.MethodPost, s.addrs.API+"/v1/points/redemptions", strings.NewReader(bad.body))
		req.Header.Set("Content-Type", bad.contentType)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e struct {
			Error string `json:"error"`
		}
		derr := json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != bad.want || derr != nil || e.Error == "" {
			t.Errorf("%s: %d %q (%v), want %d with a JSON error", bad.name, resp.StatusCode, e.Error, derr, bad.want)
		}
	}

	// Earn: a bill; the television's discount, the group having 2 members.
	const k = 12
	o, err := bill(staff, "b1", ids["bob"], coffees(k))
	if err != nil || o.Outcome != ration.PointsApplied || o.Points != 10*k || o.Balance != 10*k || o.Charged != 3.5*k {
		t.Fatalf("bill: %+v, %v", o, err)
	}
	if _, err := bill(staff, "b1", ids["bob"], coffees(k+1)); status(err) != http.StatusConflict {
		t.Fatalf("a command id again with another bill: %v, want 409", err)
	}
	tv, err := bill(staff, "b2", ids["alice"], ration.PointsBillLine{ItemID: "tv", Quantity: 1})
	if err != nil || tv.Discount != 50 || tv.Charged != 450 || tv.Balance != 10*k+500 {
		t.Fatalf("a television with 10%% off: %+v, %v", tv, err)
	}
	if o, err := alice.Redeem(ctx, ration.PointsRedemption{CommandID: "tv-back", GroupID: group, ItemID: "tv"}); err != nil || o.Balance != 10*k {
		t.Fatalf("redeeming a television: %+v, %v", o, err)
	}

	// Spend: 16 clients, 3 commands each, each command sent twice; the
	// balance covers exactly k of them.
	var (
		mu       sync.Mutex
		applied  = map[string]bool{}
		outcomes = map[string]string{}
		wg       sync.WaitGroup
	)
	for i := range 16 {
		c := []*apiclient.Client{alice, bob}[i%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 3 {
				id := fmt.Sprintf("spend-%d-%d", i, j)
				for range 2 {
					o, err := c.Redeem(ctx, ration.PointsRedemption{CommandID: id, GroupID: group, Points: 10})
					mu.Lock()
					switch {
					case err != nil:
						t.Errorf("%s: %v", id, err)
					case o.Outcome == ration.PointsPending:
						t.Errorf("%s pending after the API's wait", id)
					case outcomes[id] != "" && outcomes[id] != o.Outcome:
						t.Errorf("%s: %s, then %s", id, outcomes[id], o.Outcome)
					case o.Balance < 0:
						t.Errorf("%s: balance %d", id, o.Balance)
					}
					outcomes[id] = o.Outcome
					if o.Outcome == ration.PointsApplied {
						applied[id] = true
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if len(applied) != k {
		t.Fatalf("%d redemptions applied, want exactly %d", len(applied), k)
	}

	// The read side: the balance, the history, the user's groups.
	var g ration.PointsGroup
	await(t, 30*time.Second, "the group's last entry in ClickHouse", func() (bool, string) {
		g, err = bob.PointsGroup(ctx, group)
		return err == nil && g.Seq == 5+k, fmt.Sprintf("%+v, %v", g, err)
	})
	if g.Balance != 0 || len(g.Members) != 2 || g.Name != "flat 3" || g.Location != "Riga" {
		t.Fatalf("group %+v", g)
	}
	// The group's record and its entries are different topics, which the
	// sink may store in different inserts.
	var h ration.PointsHistory
	await(t, 30*time.Second, "the group's entries in ClickHouse", func() (bool, string) {
		h, err = alice.PointsGroupHistory(ctx, group, "", 0)
		return err == nil && len(h.Entries) == 5+k, fmt.Sprintf("%d entries, %v", len(h.Entries), err)
	})
	var sum int64
	for _, e := range h.Entries {
		sum += e.Points
	}
	// create, join, bill, tv, tv back, k spent
	if len(h.Entries) != 5+k || sum != 0 || h.Entries[0].Seq != int64(5+k) {
		t.Fatalf("history: %d entries summing to %d (newest seq %d), want %d summing to 0", len(h.Entries), sum, h.Entries[0].Seq, 5+k)
	}
	first, err := alice.PointsGroupHistory(ctx, group, "", 10)
	if err != nil || len(first.Entries) != 10 || first.NextCursor == "" {
		t.Fatalf("a page of 10: %d entries, cursor %q, %v", len(first.Entries), first.NextCursor, err)
	}
	rest, err := alice.PointsGroupHistory(ctx, group, first.NextCursor, 10)
	if err != nil || len(rest.Entries) != 5+k-10 || rest.Entries[0].Seq != first.Entries[9].Seq-1 {
		t.Fatalf("the next page: %+v, %v", rest, err)
	}
	me, err := bob.PointsMe(ctx)
	if err != nil || len(me.Groups) != 1 || me.Groups[0].GroupID != group || me.Region != "R2" {
		t.Fatalf("bob: %+v, %v", me, err)
	}
	polled, err := staff.PointsCommand(ctx, group, "b2")
	if err != nil || polled.Discount != 50 || polled.Outcome != ration.PointsApplied {
		t.Fatalf("polling the television's bill: %+v, %v", polled, err)
	}
}
