package dm

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/sink"
)

// MaxPageSize caps a page of users (RC-8).
const MaxPageSize = 10_000

// Reader answers the DM read API from the state view's tables (migration
// 0002): a lookup reads one user's rows, a page one state's rows from the
// cursor on, the stats one row per bucket. None of them reads the log.
type Reader struct {
	conn driver.Conn
	qdb  string
	now  func() time.Time
}

var _ ration.DMReader = (*Reader)(nil)

// NewReader reads from database db through conn (sink.Open, which has
// applied the pipeline's migrations).
func NewReader(conn driver.Conn, db string) (*Reader, error) {
	qdb, err := sink.QuoteDB(db)
	if err != nil {
		return nil, err
	}
	return &Reader{conn: conn, qdb: qdb, now: time.Now}, nil
}

// latest picks each user's latest row: ReplacingMergeTree keeps it on
// merge, and until then argMax over the version picks it; a replayed row
// is the same version.
const latest = `argMax(priority, version), argMax(marked_ms, version), argMax(checked_ms, version),
    argMax(open_dm, version), argMax(attempts, version)`

// DMUser implements ration.DMReader.
func (r *Reader) DMUser(ctx context.Context, id string) (ration.DMUser, error) {
	rows, err := r.conn.Query(ctx, `SELECT user_id, toString(argMax(state, version)), `+latest+`
FROM `+r.qdb+`.dm_users WHERE user_id = ? GROUP BY user_id`, id)
	if err != nil {
		return ration.DMUser{}, fmt.Errorf("dm user: %w", err)
	}
	users, err := scanUsers(rows)
	if err != nil {
		return ration.DMUser{}, fmt.Errorf("dm user: %w", err)
	}
	if len(users) == 0 {
		return ration.DMUser{}, fmt.Errorf("dm user %q: %w", id, ration.ErrNotFound)
	}
	return users[0], nil
}

// DMUsers implements ration.DMReader: up to limit users in state (all for
// ""), ordered by id, after cursor.
//
// A page aggregates only the rows of the users it returns: it first asks
// for the user id of the k-th row after the cursor (k = limit+1, doubled
// while rows of users that left the state, or older versions, make the
// range come up short), then aggregates the range up to it.
func (r *Reader) DMUsers(ctx context.Context, state ration.DMState, cursor string, limit int) (ration.DMPage, error) {
	if state != "" && !state.Valid() {
		return ration.DMPage{}, fmt.Errorf("dm users: unknown state %q", state)
	}
	if limit < 1 {
		return ration.DMPage{}, fmt.Errorf("dm users: limit %d < 1", limit)
	}
	limit = min(limit, MaxPageSize)
	after, err := decodeCursor(cursor)
	if err != nil {
		return ration.DMPage{}, err
	}
	table, filter, live, stateColumn, args := "dm_users", "1", "1", "toString(argMax(state, version))", []any(nil)
	if state != "" {
		table, filter, live, stateColumn, args = "dm_users_by_state", "state = ?", "argMax(deleted, version) = 0", "toString(any(state))", []any{string(state)}
	}
	var users []ration.DMUser
	for k := limit + 1; len(users) <= limit; k *= 2 {
		var (
			upper string
			n     uint64
		)
		if err := r.conn.QueryRow(ctx, fmt.Sprintf(`SELECT max(user_id), count() FROM (
    SELECT user_id FROM %s.%s WHERE %s AND user_id > ? ORDER BY user_id LIMIT %d)`, r.qdb, table, filter, k),
			append(args, after)...).Scan(&upper, &n); err != nil {
			return ration.DMPage{}, fmt.Errorf("dm users: %w", err)
		}
		if n == 0 {
			break
		}
		rows, err := r.conn.Query(ctx, fmt.Sprintf(`SELECT user_id, %s, `+latest+`
FROM %s.%s WHERE %s AND user_id > ? AND user_id <= ?
GROUP BY user_id HAVING %s ORDER BY user_id LIMIT %d`, stateColumn, r.qdb, table, filter, live, limit+1-len(users)),
			append(args, after, upper)...)
		if err != nil {
			return ration.DMPage{}, fmt.Errorf("dm users: %w", err)
		}
		got, err := scanUsers(rows)
		if err != nil {
			return ration.DMPage{}, fmt.Errorf("dm users: %w", err)
		}
		users = append(users, got...)
		if n < uint64(k) {
			break // the range reached the end of the state
		}
		after = upper
	}
	page := ration.DMPage{Users: users}
	if len(users) > limit {
		page.Users = users[:limit]
		page.Next = EncodeCursor(users[limit-1].UserID)
	}
	if page.Users == nil {
		page.Users = []ration.DMUser{} // JSON [] rather than null
	}
	return page, nil
}

// DMStats implements ration.DMReader: the sum of every bucket's latest
// counts. The age of the oldest waiting mark is measured against this
// process's clock.
func (r *Reader) DMStats(ctx context.Context) (ration.DMStats, error) {
	var st ration.DMStats
	var unmarked, pending, parked, checked, failed int64
	var oldest uint64
	if err := r.conn.QueryRow(ctx, `SELECT sum(u), sum(p), sum(k), sum(c), sum(f), minIf(o, o > 0) FROM (
    SELECT bucket, argMax(unmarked, version) AS u, argMax(pending, version) AS p, argMax(parked, version) AS k,
           argMax(checked, version) AS c, argMax(failed, version) AS f, argMax(oldest_waiting_ms, version) AS o
    FROM `+r.qdb+`.dm_counts GROUP BY bucket)`).Scan(&unmarked, &pending, &parked, &checked, &failed, &oldest); err != nil {
		return st, fmt.Errorf("dm stats: %w", err)
	}
	st.Unmarked, st.Pending, st.Parked, st.Checked, st.Failed = unmarked, pending, parked, checked, failed
	if pending+parked > 0 && oldest > 0 {
		st.OldestPendingAgeSeconds = max(0, r.now().Sub(time.UnixMilli(int64(oldest))).Seconds())
	}
	return st, nil
}

func scanUsers(rows driver.Rows) ([]ration.DMUser, error) {
	defer rows.Close()
	var users []ration.DMUser
	for rows.Next() {
		var (
			u                 ration.DMUser
			state, prio       string
			marked, checkedAt uint64
			open              int8
			attempts          uint16
		)
		if err := rows.Scan(&u.UserID, &state, &prio, &marked, &checkedAt, &open, &attempts); err != nil {
			return nil, err
		}
		u.State = ration.DMState(state)
		if !u.State.Valid() {
			return nil, fmt.Errorf("user %q: state %q", u.UserID, state)
		}
		if prio != "" {
			u.Priority = &prio
		}
		u.MarkedAt = stamp(marked)
		u.CheckedAt = stamp(checkedAt)
		if open >= 0 {
			v := open == 1
			u.OpenDM = &v
		}
		u.Attempts = int(attempts)
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return users, nil
}

func stamp(ms uint64) *ration.Timestamp {
	if ms == 0 {
		return nil
	}
	return ration.NewTimestamp(time.UnixMilli(int64(ms)).UTC())
}
