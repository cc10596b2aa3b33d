package dm

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/sink"
)

// WholeLogReader answers the DM read API by aggregating every row of
// every user in the log tables (dm_user_log, events), as ration did before
// the state view: the cost of each answer grows with the whole history.
// It is kept as the baseline of `ration bench dm-read` and as the oracle
// the state view's answers are tested against (the view must answer the
// same).
type WholeLogReader struct {
	conn driver.Conn
	qdb  string
	now  func() time.Time
}

var _ ration.DMReader = (*WholeLogReader)(nil)

// NewWholeLogReader reads database db through conn.
func NewWholeLogReader(conn driver.Conn, db string) (*WholeLogReader, error) {
	qdb, err := sink.QuoteDB(db)
	if err != nil {
		return nil, err
	}
	return &WholeLogReader{conn: conn, qdb: qdb, now: time.Now}, nil
}

// DMUser implements ration.DMReader.
func (r *WholeLogReader) DMUser(ctx context.Context, id string) (ration.DMUser, error) {
	rows, err := r.conn.Query(ctx, dmUserSQL(r.qdb), id, id)
	if err != nil {
		return ration.DMUser{}, fmt.Errorf("dm user: %w", err)
	}
	users, err := scanLogUsers(rows)
	if err != nil {
		return ration.DMUser{}, fmt.Errorf("dm user: %w", err)
	}
	if len(users) == 0 {
		return ration.DMUser{}, fmt.Errorf("dm user %q: %w", id, ration.ErrNotFound)
	}
	return users[0], nil
}

// DMUsers implements ration.DMReader.
func (r *WholeLogReader) DMUsers(ctx context.Context, state ration.DMState, cursor string, limit int) (ration.DMPage, error) {
	limit = min(limit, MaxPageSize)
	after, err := decodeCursor(cursor)
	if err != nil {
		return ration.DMPage{}, err
	}
	args := []any{after, after}
	if state != "" {
		args = append(args, string(state))
	}
	rows, err := r.conn.Query(ctx, dmUsersSQL(r.qdb, state == "", limit), args...)
	if err != nil {
		return ration.DMPage{}, fmt.Errorf("dm users: %w", err)
	}
	users, err := scanLogUsers(rows)
	if err != nil {
		return ration.DMPage{}, fmt.Errorf("dm users: %w", err)
	}
	page := ration.DMPage{Users: users}
	if len(users) > limit {
		page.Users = users[:limit]
		page.Next = EncodeCursor(users[limit-1].UserID)
	}
	if page.Users == nil {
		page.Users = []ration.DMUser{}
	}
	return page, nil
}

// DMStats implements ration.DMReader.
func (r *WholeLogReader) DMStats(ctx context.Context) (ration.DMStats, error) {
	var st ration.DMStats
	var unmarked, pending, parked, checked, failed, oldest uint64
	if err := r.conn.QueryRow(ctx, dmStatsSQL(r.qdb)).Scan(&unmarked, &pending, &parked, &checked, &failed, &oldest); err != nil {
		return st, fmt.Errorf("dm stats: %w", err)
	}
	st.Unmarked, st.Pending, st.Parked = int64(unmarked), int64(pending), int64(parked)
	st.Checked, st.Failed = int64(checked), int64(failed)
	if pending+parked > 0 {
		st.OldestPendingAgeSeconds = max(0, r.now().Sub(time.UnixMilli(int64(oldest))).Seconds())
	}
	return st, nil
}

// scanLogUsers reads the log query's rows, which carry the latest
// result's columns whatever the state: only a checked or failed user shows
// them, and only a marked one its mark.
func scanLogUsers(rows driver.Rows) ([]ration.DMUser, error) {
	users, err := scanUsers(rows)
	for i := range users {
		u := &users[i]
		if u.State == ration.DMUnmarked {
			u.Priority, u.MarkedAt = nil, nil
		}
		if u.State != ration.DMChecked && u.State != ration.DMFailed {
			u.CheckedAt, u.Attempts = nil, 0
		}
		if u.State != ration.DMChecked {
			u.OpenDM = nil
		}
	}
	return users, err
}

// userStatesSQL computes every user's DM state from its rows, for the
// users that the filter %[2]s on user_id selects (all rows of a user share
// its id, so filtering before grouping is exact); %[3]s is the same filter
// on the events' item_id, so the query takes the filter's argument twice.
// %[1]s is the quoted database.
//
// (UNION ALL takes its column names from the first SELECT; the second's
// aliases must not shadow the events' own columns, which its WHERE reads.)
//
// The rows are the user's dm_user_log rows plus the DM events that say it
// was parked (REPROCESS: kind park), sent to a delay tier (ERROR) or sent
// again by the reprocessor (stage reprocess) (both kind retry), or given up
// on (FAILED: kind giveup).
//
// A user is known by its own rows: events alone (say, the FAILED event of
// an undecodable mark under a key no user has) make no user.
//
// Only aggregates that duplicates cannot change are used (max, argMax over
// a key that includes src, count compared with 0), so a replayed batch,
// stored again before ClickHouse merges it away, never changes an answer.
//
//   - marked: the latest mark's time. A result counts as proof of the mark
//     it answers, so a user whose result was stored before its mark (they
//     come from different topics) or whose marks expired is not shown as
//     unmarked.
//   - answered: the latest mark that has a result. The user is pending
//     while answered < marked, else checked or failed as that result says.
//   - parked: pending, parked after its latest mark was made, and not sent
//     again or to a delay tier since. failed also covers a pending user the
//     reprocessor gave up on after its latest mark.
//   - the res_* columns come from the result of the latest answered mark,
//     ties broken by checked time and then src, so the pick is stable.
const userStatesSQL = `
SELECT
    user_id,
    countIf(kind IN ('mark', 'result')) AS marks,
    maxIf(marked_at_ms, kind IN ('mark', 'result')) AS marked,
    maxIf(marked_at_ms, kind = 'result') AS answered,
    maxIf(ts_ms, kind = 'park') AS parked_ms,
    maxIf(ts_ms, kind = 'retry') AS retried_ms,
    maxIf(ts_ms, kind = 'giveup') AS gaveup_ms,
    argMaxIf(priority, tuple(marked_at_ms, priority = 'high'), kind IN ('mark', 'result')) AS prio,
    argMaxIf(status, tuple(marked_at_ms, ts_ms, src), kind = 'result') AS res_status,
    argMaxIf(open_dm, tuple(marked_at_ms, ts_ms, src), kind = 'result') AS res_open,
    argMaxIf(attempts, tuple(marked_at_ms, ts_ms, src), kind = 'result') AS res_attempts,
    argMaxIf(ts_ms, tuple(marked_at_ms, ts_ms, src), kind = 'result') AS res_ts,
    multiIf(marks = 0, 'unmarked',
            answered < marked AND gaveup_ms >= marked AND gaveup_ms >= parked_ms, 'failed',
            answered < marked AND parked_ms >= marked AND parked_ms > retried_ms, 'parked',
            answered < marked, 'pending',
            res_status = 'failed', 'failed', 'checked') AS state
FROM (
    SELECT user_id, toString(kind) AS kind, ts_ms, marked_at_ms, toString(priority) AS priority,
           toString(status) AS status, open_dm, attempts, src
    FROM %[1]s.dm_user_log
    WHERE %[2]s
    UNION ALL
    SELECT item_id AS user_id, multiIf(status = 'REPROCESS', 'park', status = 'FAILED', 'giveup', 'retry') AS kind, time_ms AS ts_ms,
           toUInt64(0) AS marked_at_ms, 'normal' AS prio_, 'none' AS status_, toInt8(-1) AS open_dm,
           toUInt16(0) AS attempts, event_id AS src
    FROM %[1]s.events
    WHERE pipeline = 'dm' AND (status IN ('REPROCESS', 'ERROR', 'FAILED') OR stage = 'reprocess') AND %[3]s
)
GROUP BY user_id
HAVING countIf(kind IN ('register', 'mark', 'result')) > 0`

// userStates returns userStatesSQL for a filter on user_id such as
// "user_id = ?" (each ? is then bound twice).
func userStates(qdb, filter string) string {
	return fmt.Sprintf(userStatesSQL, qdb, filter, strings.ReplaceAll(filter, "user_id", "item_id"))
}

// userColumns are the columns scanUser reads, in order.
const userColumns = "user_id, state, prio, marked, if(answered < marked, gaveup_ms, res_ts) AS checked_ts, res_open, res_attempts"

func dmUserSQL(qdb string) string {
	return "SELECT " + userColumns + " FROM (" + userStates(qdb, "user_id = ?") + ")"
}

// dmUsersSQL lists users after a cursor (the first two arguments), in
// state (the third) unless allStates, one more than limit to tell whether a
// next page exists.
func dmUsersSQL(qdb string, allStates bool, limit int) string {
	filter := "state = ?"
	if allStates {
		filter = "1"
	}
	return "SELECT " + userColumns + " FROM (" + userStates(qdb, "user_id > ?") + ")" +
		" WHERE " + filter + fmt.Sprintf(" ORDER BY user_id LIMIT %d", limit+1)
}

func dmStatsSQL(qdb string) string {
	return `SELECT
    countIf(state = 'unmarked'), countIf(state = 'pending'), countIf(state = 'parked'),
    countIf(state = 'checked'), countIf(state = 'failed'),
    minIf(marked, state IN ('pending', 'parked'))
FROM (` + userStates(qdb, "1") + ")"
}
