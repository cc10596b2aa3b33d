package points

// The routes that send commands to a group's ledger and answer their
// outcomes.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/api"
	"github.com/rationhq/ration/auth"
)

// commandID checks a client-chosen command id.
func commandID(id string) *api.Error {
	if !auth.ValidName(id) {
		return api.Errorf(http.StatusUnprocessableEntity,
			"command_id is required: a letter or digit, then up to 63 letters, digits, '.', '_' or '-' (a UUID will do)")
	}
	return nil
}

// digest is what identifies a request: the same command id with another
// request is refused.
func digest(parts ...any) string {
	b, _ := json.Marshal(parts)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func (rs *routes) createGroup(w http.ResponseWriter, r *http.Request) error {
	user, err := caller(r)
	if err != nil {
		return err
	}
	var in ration.PointsNewGroup
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if err := text("name", in.Name, 100); err != nil {
		return err
	}
	if err := text("location", in.Location, 100); err != nil {
		return err
	}
	id := newID("g", 10)
	if in.CommandID != "" {
		if err := commandID(in.CommandID); err != nil {
			return err
		}
		// The same command again names the same group.
		sum := sha256.Sum256([]byte(CommandKey(user, in.CommandID)))
		id = "g-" + encodeID(sum[:], 10)
	} else {
		in.CommandID = "create-" + id
	}
	c := Command{Kind: KindCreate, GroupID: id, UserID: user, Name: in.Name, Location: in.Location,
		Digest: digest(KindCreate, in.Name, in.Location)}
	return rs.send(w, r, user, in.CommandID, &c, http.StatusCreated)
}

// encodeID writes b in idAlphabet, n characters.
func encodeID(b []byte, n int) string {
	out := make([]byte, n)
	for i := range out {
		out[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(out)
}

func (rs *routes) join(w http.ResponseWriter, r *http.Request) error {
	user, err := caller(r)
	if err != nil {
		return err
	}
	var in ration.PointsJoin
	if r.ContentLength != 0 {
		if err := decode(w, r, &in); err != nil {
			return err
		}
	}
	group := r.PathValue("id")
	if in.CommandID == "" {
		in.CommandID = "join-" + group // joining twice is joining once
	} else if err := commandID(in.CommandID); err != nil {
		return err
	}
	c := Command{Kind: KindJoin, GroupID: group, UserID: user, Digest: digest(KindJoin, group)}
	return rs.send(w, r, user, in.CommandID, &c, http.StatusOK)
}

func (rs *routes) bill(w http.ResponseWriter, r *http.Request) error {
	staff, err := rs.staff(r)
	if err != nil {
		return err
	}
	var in ration.PointsBill
	if err := decode(w, r, &in); err != nil {
		return err
	}
	c, e := rs.billCommand(r.Context(), in)
	if e != nil {
		return e
	}
	return rs.send(w, r, staff, in.CommandID, c, http.StatusOK)
}

// staff returns the caller of r if they are staff, who alone bill.
func (rs *routes) staff(r *http.Request) (string, error) {
	staff, err := caller(r)
	if err != nil {
		return "", err
	}
	if u, ok := rs.user(r.Context(), staff); !ok || !u.Staff {
		return "", api.Errorf(http.StatusForbidden, "only staff bill")
	}
	return staff, nil
}

// billCommand checks bill in and returns its command.
func (rs *routes) billCommand(ctx context.Context, in ration.PointsBill) (*Command, *api.Error) {
	if err := commandID(in.CommandID); err != nil {
		return nil, err
	}
	if _, ok := rs.user(ctx, in.UserID); !ok {
		return nil, api.Errorf(http.StatusUnprocessableEntity, "no user %q", api.Clip(in.UserID, 20))
	}
	if len(in.Items) == 0 || len(in.Items) > maxLines {
		return nil, api.Errorf(http.StatusUnprocessableEntity, "a bill has 1 to %d items", maxLines)
	}
	lines := make([]Line, len(in.Items))
	var reasons []api.Reason
	for i, l := range in.Items {
		it, ok := rs.catalogue.Get(l.ItemID)
		path := fmt.Sprintf("/items/%d", i)
		switch {
		case !ok:
			reasons = append(reasons, api.Reason{Path: path + "/item_id", Message: fmt.Sprintf("no item %q in the catalogue", api.Clip(l.ItemID, 64))})
		case l.Quantity < 1 || l.Quantity > maxQuantity:
			reasons = append(reasons, api.Reason{Path: path + "/quantity", Message: fmt.Sprintf("quantity must be 1 to %d", maxQuantity)})
		}
		lines[i] = Line{ItemID: it.ItemID, Name: it.Name, Quantity: l.Quantity, Price: it.Price, Points: it.Points, Discount: it.Discount}
	}
	if len(reasons) > 0 {
		return nil, api.Errorf(http.StatusUnprocessableEntity, "the bill names items that cannot be billed").WithReasons(reasons)
	}
	return &Command{Kind: KindBill, GroupID: in.GroupID, UserID: in.UserID, Lines: lines,
		Digest: digest(KindBill, in.GroupID, in.UserID, in.Items)}, nil
}

func (rs *routes) redeem(w http.ResponseWriter, r *http.Request) error {
	user, err := caller(r)
	if err != nil {
		return err
	}
	var in ration.PointsRedemption
	if err := decode(w, r, &in); err != nil {
		return err
	}
	c, e := rs.redeemCommand(user, in)
	if e != nil {
		return e
	}
	return rs.send(w, r, user, in.CommandID, c, http.StatusOK)
}

// redeemCommand checks user's redemption in and returns its command.
func (rs *routes) redeemCommand(user string, in ration.PointsRedemption) (*Command, *api.Error) {
	if err := commandID(in.CommandID); err != nil {
		return nil, err
	}
	c := Command{Kind: KindRedeem, GroupID: in.GroupID, UserID: user, Digest: digest(KindRedeem, in.GroupID, in.ItemID, in.Points)}
	switch {
	case (in.ItemID == "") == (in.Points == 0):
		return nil, api.Errorf(http.StatusUnprocessableEntity, "a redemption names an item_id or a number of points, not both")
	case in.ItemID != "":
		it, ok := rs.catalogue.Get(in.ItemID)
		if !ok {
			return nil, api.Errorf(http.StatusUnprocessableEntity, "no item %q in the catalogue", api.Clip(in.ItemID, 64))
		}
		c.Lines = []Line{{ItemID: it.ItemID, Name: it.Name, Quantity: 1, Price: it.Price, Points: it.Points, Discount: it.Discount}}
	case in.Points < 0 || in.Points > maxPoints:
		return nil, api.Errorf(http.StatusUnprocessableEntity, "points must be 1 to %d", maxPoints)
	default:
		c.Points = in.Points
	}
	return &c, nil
}

// checkGroupID checks the group a command names.
func checkGroupID(id string) *api.Error {
	if id == "" || len(id) > 64 {
		return api.Errorf(http.StatusUnprocessableEntity, "group_id is required")
	}
	return nil
}

// send sends command c of issuer to its group's ledger and answers its
// outcome (applied with status, rejected 200 but for a member's or a
// group's absence), or 202 with where to poll when the ledger has not
// decided within OutcomeWait.
func (rs *routes) send(w http.ResponseWriter, r *http.Request, issuer, commandID string, c *Command, status int) error {
	if err := rs.prepare(c, issuer, commandID); err != nil {
		return err
	}
	got, stop := rs.outcomes.wait(c.GroupID, c.ID)
	defer stop()
	if err := rs.produce(r.Context(), TopicCommands, c.GroupID, c); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), OutcomeWait)
	defer cancel()
	o, ok := awaitOutcome(ctx, got)
	switch {
	case r.Context().Err() != nil:
		return r.Context().Err()
	case ok:
		return rs.answer(w, c, o, status)
	}
	p := pending(c)
	w.Header().Set("Location", p.Poll)
	api.WriteJSON(w, http.StatusAccepted, p)
	return nil
}

// prepare checks the group command c of issuer names and stamps c with
// its ids and the time it is sent.
func (rs *routes) prepare(c *Command, issuer, commandID string) *api.Error {
	if err := checkGroupID(c.GroupID); err != nil {
		return err
	}
	c.ID, c.CommandID, c.Issuer = CommandKey(issuer, commandID), commandID, issuer
	c.SentAt = rs.now().UTC().Truncate(time.Millisecond)
	return nil
}

// awaitOutcome returns the outcome on got, or false once ctx is done
// without one (an outcome that came meanwhile still counts).
func awaitOutcome(ctx context.Context, got <-chan Outcome) (Outcome, bool) {
	select {
	case o := <-got:
		return o, true
	default:
	}
	select {
	case o := <-got:
		return o, true
	case <-ctx.Done():
		return Outcome{}, false
	}
}

// pending is the answer for command c while the ledger has not decided
// it: where to poll, or to send it again.
func pending(c *Command) ration.PointsOutcome {
	return ration.PointsOutcome{CommandID: c.CommandID, GroupID: c.GroupID, Kind: c.Kind, Outcome: ration.PointsPending,
		Poll: "/v1/points/groups/" + c.GroupID + "/commands/" + c.CommandID}
}

// answer answers outcome o of command c.
func (rs *routes) answer(w http.ResponseWriter, c *Command, o Outcome, status int) error {
	if o.Digest != c.Digest {
		return api.Errorf(http.StatusConflict, "command_id %s was used for another command", api.Clip(c.CommandID, 64))
	}
	switch o.Reason {
	case ReasonNotMember:
		return api.Errorf(http.StatusForbidden, "%s is not a member of group %s", o.UserID, o.GroupID)
	case ReasonNoGroup:
		return api.Errorf(http.StatusNotFound, "no group %q", api.Clip(o.GroupID, 64))
	}
	if o.Outcome != Applied {
		status = http.StatusOK
	}
	rs.log.Info("points command", "kind", o.Kind, "group", o.GroupID, "id", o.ID, "outcome", o.Outcome,
		"reason", o.Reason, "points", o.Points, "balance", o.Balance, "repeat", o.Repeat)
	api.WriteJSON(w, status, outcomeView(o))
	return nil
}

func outcomeView(o Outcome) ration.PointsOutcome {
	return ration.PointsOutcome{CommandID: o.CommandID, GroupID: o.GroupID, Kind: o.Kind, Outcome: o.Outcome, Reason: o.Reason,
		Points: o.Points, Balance: o.Balance, Seq: o.Seq, Charged: units(o.Charged), Discount: units(o.Discount),
		Detail: o.Detail, Repeat: o.Repeat, At: ration.NewTimestamp(o.At)}
}

func (rs *routes) getCommand(w http.ResponseWriter, r *http.Request) error {
	user, err := caller(r)
	if err != nil {
		return err
	}
	group, id := r.PathValue("id"), r.PathValue("command_id")
	if rs.reader == nil {
		return api.Unavailable("commands cannot be read here (no ClickHouse)", nil)
	}
	o, err := rs.reader.Outcome(r.Context(), group, CommandKey(user, id))
	switch {
	case errors.Is(err, ErrNotFound):
		return api.Errorf(http.StatusNotFound, "no outcome of command %q yet: if you sent it, send it again with the same command_id",
			api.Clip(id, 64))
	case err != nil:
		return api.Unavailable("commands cannot be read now (ClickHouse)", err)
	}
	api.WriteJSON(w, http.StatusOK, outcomeView(o))
	return nil
}
