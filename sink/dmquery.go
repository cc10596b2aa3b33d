package sink

import "fmt"

// userStatesSQL computes every user's DM state from its rows, for the
// users that the WHERE clause %[2]s on dm_user_log selects (all rows of a
// user share its id, so filtering on user_id before grouping is exact).
// %[1]s is the quoted database.
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
//   - the res_* columns come from the result of the latest answered mark,
//     ties broken by checked time and then src, so the pick is stable.
const userStatesSQL = `
SELECT
    user_id,
    countIf(kind != 'register') AS marks,
    maxIf(marked_at_ms, kind != 'register') AS marked,
    maxIf(marked_at_ms, kind = 'result') AS answered,
    toString(argMaxIf(priority, tuple(marked_at_ms, priority), kind != 'register')) AS prio,
    toString(argMaxIf(status, tuple(marked_at_ms, ts_ms, src), kind = 'result')) AS res_status,
    argMaxIf(open_dm, tuple(marked_at_ms, ts_ms, src), kind = 'result') AS res_open,
    argMaxIf(attempts, tuple(marked_at_ms, ts_ms, src), kind = 'result') AS res_attempts,
    argMaxIf(ts_ms, tuple(marked_at_ms, ts_ms, src), kind = 'result') AS res_ts,
    multiIf(marks = 0, 'unmarked', answered < marked, 'pending', res_status = 'failed', 'failed', 'checked') AS state
FROM %[1]s.dm_user_log
WHERE %[2]s
GROUP BY user_id`

// userColumns are the columns scanUser reads, in order.
const userColumns = "user_id, state, prio, marked, res_ts, res_open, res_attempts"

func dmUserSQL(qdb string) string {
	return "SELECT " + userColumns + " FROM (" + fmt.Sprintf(userStatesSQL, qdb, "user_id = ?") + ")"
}

// dmUsersSQL lists users after a cursor (the first argument), in state
// (the second) unless allStates, one more than limit to tell whether a
// next page exists.
func dmUsersSQL(qdb string, allStates bool, limit int) string {
	filter := "state = ?"
	if allStates {
		filter = "1"
	}
	return "SELECT " + userColumns + " FROM (" + fmt.Sprintf(userStatesSQL, qdb, "user_id > ?") + ")" +
		" WHERE " + filter + fmt.Sprintf(" ORDER BY user_id LIMIT %d", limit+1)
}

func dmStatsSQL(qdb string) string {
	return `SELECT
    countIf(state = 'unmarked'), countIf(state = 'pending'),
    countIf(state = 'checked'), countIf(state = 'failed'),
    minIf(marked, state = 'pending')
FROM (` + fmt.Sprintf(userStatesSQL, qdb, "1") + ")"
}
