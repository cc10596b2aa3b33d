package sink

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/rationhq/ration"
)

// MaxPageSize caps a page of DMUsers.
const MaxPageSize = 10_000

// Reader answers the DM read API from ClickHouse.
type Reader struct {
	conn driver.Conn
	qdb  string
	now  func() time.Time
}

var _ ration.DMReader = (*Reader)(nil)

// OpenReader connects to ClickHouse at addr (native protocol), creates
// database db if missing and applies the migrations, so it can answer even
// before a sink ran.
func OpenReader(ctx context.Context, addr, db string) (*Reader, error) {
	qdb, err := quoteDB(db)
	if err != nil {
		return nil, err
	}
	conn, err := Open(ctx, addr, db)
	if err != nil {
		return nil, err
	}
	return &Reader{conn: conn, qdb: qdb, now: time.Now}, nil
}

// Close closes the connections.
func (r *Reader) Close() error { return r.conn.Close() }

// Conn returns the connection pool, whose default database is the
// reader's, for running other SQL.
func (r *Reader) Conn() driver.Conn { return r.conn }

// DMUser returns one user's state, or ration.ErrNotFound for a user with
// no record at all.
func (r *Reader) DMUser(ctx context.Context, id string) (ration.DMUser, error) {
	rows, err := r.conn.Query(ctx, dmUserSQL(r.qdb), id, id)
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

// DMUsers returns up to limit users in state (all users for state ""),
// ordered by id, after cursor. limit above MaxPageSize is capped.
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
	args := []any{after, after}
	if state != "" {
		args = append(args, string(state))
	}
	rows, err := r.conn.Query(ctx, dmUsersSQL(r.qdb, state == "", limit), args...)
	if err != nil {
		return ration.DMPage{}, fmt.Errorf("dm users: %w", err)
	}
	users, err := scanUsers(rows)
	if err != nil {
		return ration.DMPage{}, fmt.Errorf("dm users: %w", err)
	}
	page := ration.DMPage{Users: users}
	if len(users) > limit {
		page.Users = users[:limit]
		page.Next = encodeCursor(users[limit-1].UserID)
	}
	if page.Users == nil {
		page.Users = []ration.DMUser{} // JSON [] rather than null
	}
	return page, nil
}

// DMStats counts users by state. The age of the oldest pending (or parked)
// mark is measured against this process's clock.
func (r *Reader) DMStats(ctx context.Context) (ration.DMStats, error) {
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
		if u.State != ration.DMUnmarked {
			u.Priority = &prio
			u.MarkedAt = ration.NewTimestamp(time.UnixMilli(int64(marked)).UTC())
		}
		// What the latest result said applies only while no newer mark
		// waits for its own.
		if u.State == ration.DMChecked || u.State == ration.DMFailed {
			u.CheckedAt = ration.NewTimestamp(time.UnixMilli(int64(checkedAt)).UTC())
			u.Attempts = int(attempts)
			if u.State == ration.DMChecked && open >= 0 {
				v := open == 1
				u.OpenDM = &v
			}
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return users, nil
}
