package points

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/processor"
	"github.com/rationhq/ration/schemas"
)

// ledger is the ledger stage's handler. The runtime hands it one group's
// commands one at a time, in order (they share a key), and commits the
// state it keeps, the outcome and the group's new record in one
// transaction with the command's offset: a command is decided exactly
// once, however often a crash or a fenced zombie makes the stage read it.
//
// Its state, per group: the group ("<group>/group") and the outcome of
// every command the group was sent ("<group>/cmd/<command id>"), which
// answers a command sent again.
type ledger struct {
	codec *schemas.Codec
	now   func() time.Time
}

func groupKey(group string) string            { return group + "/group" }
func outcomeKey(group, command string) string { return group + "/cmd/" + command }

// Process implements processor.Handler.
func (l *ledger) Process(_ context.Context, rec *kgo.Record, st processor.State) ([]*kgo.Record, error) {
	var c Command
	if err := l.codec.Decode(rec.Value, &c); err != nil {
		return nil, processor.Permanent(fmt.Errorf("command: %w", err))
	}
	group := string(rec.Key)
	if b, ok := st.Get(outcomeKey(group, c.ID)); ok {
		var o Outcome
		if err := l.codec.Decode(b, &o); err != nil {
			return nil, processor.Permanent(fmt.Errorf("outcome of %s in the state: %w", c.ID, err))
		}
		o.Repeat = true
		return l.records(group, &o, nil)
	}
	var g Group
	b, exists := st.Get(groupKey(group))
	if exists {
		if err := l.codec.Decode(b, &g); err != nil {
			return nil, processor.Permanent(fmt.Errorf("group %s in the state: %w", group, err))
		}
	}
	o := decide(&g, exists, &c, l.now().UTC().Truncate(time.Millisecond))
	ob, err := l.codec.Encode(&o)
	if err != nil {
		return nil, err
	}
	st.Put(outcomeKey(group, c.ID), ob)
	if o.Outcome != Applied {
		return l.records(group, &o, nil)
	}
	gb, err := l.codec.Encode(&g)
	if err != nil {
		return nil, err
	}
	st.Put(groupKey(group), gb)
	return l.records(group, &o, gb)
}

// records are the outcome and, if the group changed, its new record.
func (l *ledger) records(group string, o *Outcome, groupValue []byte) ([]*kgo.Record, error) {
	ob, err := l.codec.Encode(o)
	if err != nil {
		return nil, err
	}
	out := []*kgo.Record{{Topic: TopicOutcomes, Key: []byte(group), Value: ob}}
	if groupValue != nil {
		out = append(out, &kgo.Record{Topic: TopicGroups, Key: []byte(group), Value: groupValue})
	}
	return out, nil
}

// decide applies c to g, the group's state (exists: the group was
// created), at now, and returns the outcome; g changes only if c is
// applied. It is the ledger's whole rule book, and a pure function: the
// same command on the same state always decides the same.
func decide(g *Group, exists bool, c *Command, now time.Time) Outcome {
	o := Outcome{ID: c.ID, CommandID: c.CommandID, Issuer: c.Issuer, Kind: c.Kind, GroupID: c.GroupID,
		UserID: c.UserID, Digest: c.Digest, At: now, Balance: g.Balance}
	reject := func(reason string) Outcome {
		o.Outcome, o.Reason = Rejected, reason
		return o
	}
	if c.Kind != KindCreate {
		switch {
		case !exists:
			return reject(ReasonNoGroup)
		case c.Kind != KindJoin && !g.member(c.UserID):
			return reject(ReasonNotMember)
		}
	}
	switch c.Kind {
	case KindCreate:
		if exists {
			return reject(ReasonGroupExists)
		}
		*g = Group{GroupID: c.GroupID, Name: c.Name, Location: c.Location, Members: []string{c.UserID}, CreatedAt: now}
		o.Detail = "created " + c.Name
	case KindJoin:
		o.Detail = "joined"
		if g.member(c.UserID) {
			o.Detail = "joined (already a member)"
		} else {
			g.Members = append(g.Members, c.UserID)
		}
	case KindBill:
		var points int64
		for _, ln := range c.Lines {
			cost := ln.Price * ln.Quantity
			off := int64(0)
			// Entitlement is judged on the group as it was before the
			// bill, so the same bill on the same state gets the same.
			if ln.Discount.entitles(g) {
				off = cost * int64(ln.Discount.Percent) / 100
			}
			o.Charged += cost - off
			o.Discount += off
			points += ln.Points * ln.Quantity
		}
		if points > math.MaxInt64-g.Balance {
			return reject(ReasonOverflow)
		}
		o.Points = points
		o.Detail = describe(c.Lines)
	case KindRedeem:
		cost := c.Points
		o.Detail = strconv.FormatInt(c.Points, 10) + " points"
		if len(c.Lines) > 0 {
			cost = 0
			for _, ln := range c.Lines {
				cost += ln.Points * ln.Quantity
			}
			o.Detail = describe(c.Lines)
		}
		if cost > g.Balance {
			return reject(ReasonInsufficient)
		}
		o.Points = -cost
	default:
		return reject(ReasonUnknownKind)
	}
	g.Balance += o.Points
	g.Seq++
	g.UpdatedAt = now
	o.Outcome, o.Seq, o.Balance = Applied, g.Seq, g.Balance
	return o
}

// describe says what lines hold, for people: "2 x coffee, 1 x cake".
func describe(lines []Line) string {
	parts := make([]string, len(lines))
	for i, ln := range lines {
		parts[i] = strconv.FormatInt(ln.Quantity, 10) + " x " + ln.Name
	}
	return strings.Join(parts, ", ")
}
