package dm

import (
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/schemas"
	"github.com/rationhq/ration/sink"
)

var (
	userLogTable = &sink.Table{Name: "dm_user_log", Columns: []string{
		"user_id", "kind", "ts_ms", "marked_at_ms", "priority", "status",
		"open_dm", "attempts", "worker", "error", "src", "day",
	}}
	usersTable = &sink.Table{Name: "dm_users", Columns: []string{
		"user_id", "version", "state", "priority", "marked_ms", "checked_ms", "open_dm", "attempts",
	}, Lookup: true}
	byStateTable = &sink.Table{Name: "dm_users_by_state", Columns: []string{
		"state", "user_id", "version", "deleted", "priority", "marked_ms", "checked_ms", "open_dm", "attempts",
	}}
	countsTable = &sink.Table{Name: "dm_counts", Columns: []string{
		"bucket", "version", "unmarked", "pending", "parked", "checked", "failed", "oldest_waiting_ms",
	}}
)

// sinkMappings store every registration, mark and result in dm_user_log
// (the log analysts query), and the state view's output in the read
// model: dm_users, dm_users_by_state and dm_counts.
func sinkMappings() []sink.Mapping {
	return []sink.Mapping{
		{Topic: TopicUsers, Rows: func(codec *schemas.Codec, r *kgo.Record) ([]sink.Row, error) {
			var u User
			if err := codec.Decode(r.Value, &u); err != nil {
				return nil, err
			}
			return logRow(u.UserID, "register", u.RegisteredAt, time.Time{}, PriorityNormal, "none", nil, 0, "", "", sink.Src(r))
		}},
		{Topic: TopicChecksHigh, Rows: markRows},
		{Topic: TopicChecks, Rows: markRows},
		{Topic: TopicResults, Rows: func(codec *schemas.Codec, r *kgo.Record) ([]sink.Row, error) {
			var res Result
			if err := codec.Decode(r.Value, &res); err != nil {
				return nil, err
			}
			return logRow(res.UserID, "result", res.CheckedAt, res.MarkedAt, res.Priority, string(res.Status),
				res.OpenDM, res.Attempts, res.Worker, res.Error, sink.Src(r))
		}},
		{Topic: TopicStates, Rows: stateRows},
		{Topic: TopicCounts, Rows: func(codec *schemas.Codec, r *kgo.Record) ([]sink.Row, error) {
			var c Counts
			if err := codec.Decode(r.Value, &c); err != nil {
				return nil, err
			}
			return []sink.Row{{Table: countsTable, Values: []any{
				c.Bucket, uint64(c.Version), c.Unmarked, c.Pending, c.Parked, c.Checked, c.Failed, millis(c.OldestWaiting),
			}}}, nil
		}},
	}
}

func markRows(codec *schemas.Codec, r *kgo.Record) ([]sink.Row, error) {
	var m Mark
	if err := codec.Decode(r.Value, &m); err != nil {
		return nil, err
	}
	return logRow(m.UserID, "mark", m.MarkedAt, m.MarkedAt, m.Priority, "none", nil, 0, "", "", sink.Src(r))
}

// stateRows files a user's new state in dm_users and under its state in
// dm_users_by_state, and marks it gone from the state it left.
func stateRows(codec *schemas.Codec, r *kgo.Record) ([]sink.Row, error) {
	var s UserState
	if err := codec.Decode(r.Value, &s); err != nil {
		return nil, err
	}
	open := openDM(s.OpenDM)
	v := uint64(s.Version)
	rows := []sink.Row{
		{Table: usersTable, Values: []any{s.UserID, v, s.State, s.Priority, millis(s.MarkedAt), millis(s.CheckedAt), open, sink.ClampU16(s.Attempts)}},
		{Table: byStateTable, Values: []any{s.State, s.UserID, v, uint8(0), s.Priority, millis(s.MarkedAt), millis(s.CheckedAt), open, sink.ClampU16(s.Attempts)}},
	}
	if s.PrevState != "" && s.PrevState != s.State {
		rows = append(rows, sink.Row{Table: byStateTable, Values: []any{s.PrevState, s.UserID, v, uint8(1), "", uint64(0), uint64(0), int8(-1), uint16(0)}})
	}
	return rows, nil
}

func logRow(user, kind string, ts, markedAt time.Time, prio Priority, status string,
	open *bool, attempts int, worker, errText, src string) ([]sink.Row, error) {
	if err := sink.Storable(ts); err != nil {
		return nil, err
	}
	var markedMs uint64
	if !markedAt.IsZero() {
		if err := sink.Storable(markedAt); err != nil {
			return nil, err
		}
		markedMs = uint64(markedAt.UnixMilli())
	}
	return []sink.Row{{Table: userLogTable, Values: []any{
		user, kind, uint64(ts.UnixMilli()), markedMs, string(prio), status,
		openDM(open), sink.ClampU16(attempts), worker, errText, src, ts.UTC(),
	}}}, nil
}

// openDM is -1 for unknown, 0 for closed, 1 for open.
func openDM(open *bool) int8 {
	switch {
	case open == nil:
		return -1
	case *open:
		return 1
	}
	return 0
}

// millis is t in unix milliseconds, 0 for the zero time.
func millis(t time.Time) uint64 {
	if t.IsZero() || t.Before(time.Unix(0, 0)) {
		return 0
	}
	return uint64(t.UnixMilli())
}
