package points

// The route that sends many commands of one caller at once.

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/api"
)

// MaxBatch is the most commands one batch carries.
const MaxBatch = 1000

// maxBatchBody bounds a batch's body: a thousand bills of a few lines.
const maxBatchBody = 4 << 20

// batch is POST /v1/points/commands: bills and redemptions of one caller
// sent together, as a till syncing its day or a partner its earnings
// would. Each command is checked as if sent alone, and any that fails
// refuses the whole batch (422, a reason per command) before anything
// reaches Kafka; then all go in one produce, and each is decided by its
// group's ledger as if sent alone. The answer waits up to OutcomeWait for
// every outcome and gives each in the batch's order: applied, rejected
// (a member's or a group's absence too, which alone are 403 and 404),
// conflict (the command_id was used for another command; alone, 409) or
// pending, to be sent again with the same command_id.
func (rs *routes) batch(w http.ResponseWriter, r *http.Request) error {
	issuer, err := caller(r)
	if err != nil {
		return err
	}
	var in ration.PointsBatch
	if err := decodeUpTo(w, r, &in, maxBatchBody); err != nil {
		return err
	}
	if len(in.Commands) == 0 || len(in.Commands) > MaxBatch {
		return api.Errorf(http.StatusUnprocessableEntity, "a batch has 1 to %d commands", MaxBatch)
	}
	if slices.ContainsFunc(in.Commands, func(c ration.PointsBatchCommand) bool { return c.Kind == KindBill }) {
		if _, err := rs.staff(r); err != nil {
			return err
		}
	}
	cmds := make([]*Command, len(in.Commands))
	var reasons []api.Reason
	first := make(map[string]int, len(in.Commands))
	for i, bc := range in.Commands {
		c, e := rs.batchCommand(r.Context(), issuer, bc)
		if e == nil {
			e = rs.prepare(c, issuer, bc.CommandID)
		}
		if e == nil {
			if j, ok := first[bc.CommandID]; ok {
				e = api.Errorf(http.StatusUnprocessableEntity, "command_id %q is also that of /commands/%d", api.Clip(bc.CommandID, 64), j)
			} else {
				first[bc.CommandID] = i
			}
		}
		if e != nil {
			reasons = append(reasons, reasonsAt(fmt.Sprintf("/commands/%d", i), e)...)
		}
		cmds[i] = c
	}
	if len(reasons) > 0 {
		return api.Errorf(http.StatusUnprocessableEntity, "the batch holds commands that cannot be sent; none was").WithReasons(reasons)
	}
	if err := rs.writable(); err != nil {
		return err
	}
	got := make([]<-chan Outcome, len(cmds))
	recs := make([]*kgo.Record, len(cmds))
	for i, c := range cmds {
		var stop func()
		got[i], stop = rs.outcomes.wait(c.GroupID, c.ID)
		defer stop()
		b, err := rs.b.Codec.Encode(c)
		if err != nil {
			return fmt.Errorf("encode %s: %w", TopicCommands, err)
		}
		recs[i] = &kgo.Record{Topic: TopicCommands, Key: []byte(c.GroupID), Value: b}
	}
	if err := rs.produceAll(r.Context(), recs...); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), OutcomeWait)
	defer cancel()
	out := ration.PointsBatchOutcomes{Outcomes: make([]ration.PointsOutcome, len(cmds))}
	counts := map[string]int{}
	for i, c := range cmds {
		o, ok := awaitOutcome(ctx, got[i])
		switch {
		case !ok:
			out.Outcomes[i] = pending(c)
		case o.Digest != c.Digest:
			out.Outcomes[i] = ration.PointsOutcome{CommandID: c.CommandID, GroupID: c.GroupID, Kind: c.Kind,
				Outcome: ration.PointsConflict, Reason: "command_id_reused"}
		default:
			out.Outcomes[i] = outcomeView(o)
		}
		counts[out.Outcomes[i].Outcome]++
	}
	if err := r.Context().Err(); err != nil {
		return err
	}
	rs.log.Info("points batch", "issuer", issuer, "commands", len(cmds), "outcomes", counts)
	api.WriteJSON(w, http.StatusOK, out)
	return nil
}

// batchCommand checks command bc of a batch of issuer's and returns it.
func (rs *routes) batchCommand(ctx context.Context, issuer string, bc ration.PointsBatchCommand) (*Command, *api.Error) {
	switch bc.Kind {
	case KindBill:
		if bc.ItemID != "" || bc.Points != 0 {
			return nil, api.Errorf(http.StatusUnprocessableEntity, "a bill has items, not an item_id or points")
		}
		return rs.billCommand(ctx, ration.PointsBill{CommandID: bc.CommandID, UserID: bc.UserID, GroupID: bc.GroupID, Items: bc.Items})
	case KindRedeem:
		if bc.UserID != "" || len(bc.Items) > 0 {
			return nil, api.Errorf(http.StatusUnprocessableEntity, "a redemption is the caller's: no user_id or items")
		}
		return rs.redeemCommand(issuer, ration.PointsRedemption{CommandID: bc.CommandID, GroupID: bc.GroupID, ItemID: bc.ItemID, Points: bc.Points})
	}
	return nil, api.Errorf(http.StatusUnprocessableEntity, "kind must be %s or %s", KindBill, KindRedeem)
}

// reasonsAt is error e of the command at path, as reasons of the batch.
func reasonsAt(path string, e *api.Error) []api.Reason {
	if len(e.Reasons()) == 0 {
		return []api.Reason{{Path: path, Message: e.Message()}}
	}
	out := make([]api.Reason, len(e.Reasons()))
	for i, r := range e.Reasons() {
		out[i] = api.Reason{Path: path + r.Path, Message: r.Message}
	}
	return out
}
