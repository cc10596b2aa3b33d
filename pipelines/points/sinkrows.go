package points

import (
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/schemas"
	"github.com/rationhq/ration/sink"
)

var (
	ledgerTable = &sink.Table{Name: "points_group_ledger", Columns: []string{"group_id", "seq", "at_ms", "kind", "command_id",
		"issuer", "user_id", "points", "balance", "charged", "discount", "detail"}}
	byUserTable = &sink.Table{Name: "points_user_ledger", Columns: []string{"user_id", "at_ms", "group_id", "seq", "kind",
		"command_id", "issuer", "points", "balance", "charged", "discount", "detail"}}
	commandsTable = &sink.Table{Name: "points_command_outcomes", Columns: []string{"group_id", "id", "at_ms", "outcome", "reason",
		"command_id", "issuer", "kind", "user_id", "points", "balance", "seq", "charged", "discount", "detail", "digest"}}
	membershipsTable = &sink.Table{Name: "points_memberships", Columns: []string{"user_id", "group_id", "at_ms"}}
	groupsTable      = &sink.Table{Name: "points_groups", Columns: []string{"group_id", "seq", "name", "location", "balance",
		"members", "created_ms", "updated_ms"}, Lookup: true}
)

// sinkMappings store every outcome, the applied ones as ledger entries
// too (and a creation or a join as a membership), and every group's
// latest record (migrations 0001, 0002).
func sinkMappings() []sink.Mapping {
	return []sink.Mapping{
		{Topic: TopicOutcomes, Rows: outcomeRows},
		{Topic: TopicGroups, Rows: groupRows},
	}
}

func outcomeRows(codec *schemas.Codec, r *kgo.Record) ([]sink.Row, error) {
	var o Outcome
	if err := codec.Decode(r.Value, &o); err != nil {
		return nil, err
	}
	if o.Repeat {
		return nil, nil // its first copy was stored
	}
	at := uint64(o.At.UnixMilli())
	rows := []sink.Row{{Table: commandsTable, Values: []any{o.GroupID, o.ID, at, o.Outcome, o.Reason, o.CommandID, o.Issuer,
		o.Kind, o.UserID, o.Points, o.Balance, uint64(o.Seq), o.Charged, o.Discount, o.Detail, o.Digest}}}
	if o.Outcome == Applied {
		rows = append(rows,
			sink.Row{Table: ledgerTable, Values: []any{o.GroupID, uint64(o.Seq), at, o.Kind, o.CommandID, o.Issuer, o.UserID,
				o.Points, o.Balance, o.Charged, o.Discount, o.Detail}},
			sink.Row{Table: byUserTable, Values: []any{o.UserID, at, o.GroupID, uint64(o.Seq), o.Kind, o.CommandID, o.Issuer,
				o.Points, o.Balance, o.Charged, o.Discount, o.Detail}})
		if o.Kind == KindCreate || o.Kind == KindJoin {
			rows = append(rows, sink.Row{Table: membershipsTable, Values: []any{o.UserID, o.GroupID, at}})
		}
	}
	return rows, nil
}

func groupRows(codec *schemas.Codec, r *kgo.Record) ([]sink.Row, error) {
	var g Group
	if err := codec.Decode(r.Value, &g); err != nil {
		return nil, err
	}
	members := g.Members
	if members == nil {
		members = []string{}
	}
	return []sink.Row{{Table: groupsTable, Values: []any{g.GroupID, uint64(g.Seq), g.Name, g.Location, g.Balance, members,
		uint64(g.CreatedAt.UnixMilli()), uint64(g.UpdatedAt.UnixMilli())}}}, nil
}
