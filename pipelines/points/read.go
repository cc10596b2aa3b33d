package points

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/sink"
)

// ErrNotFound is what the reader does not have.
var ErrNotFound = ration.ErrNotFound

// Reader answers the points API's reads from the ledger's tables
// (migrations/0001, 0002): a group reads its own rows, a history page its
// entries and no others, a poll its command's.
type Reader struct {
	conn driver.Conn
	qdb  string
}

// NewReader reads database db through conn (sink.Open, which has applied
// the pipeline's migrations).
func NewReader(conn driver.Conn, db string) (*Reader, error) {
	qdb, err := sink.QuoteDB(db)
	if err != nil {
		return nil, err
	}
	return &Reader{conn: conn, qdb: qdb}, nil
}

// Groups returns the groups of ids that the ledger has recorded, each as
// of its last change, in the order of ids.
func (r *Reader) Groups(ctx context.Context, ids []string) ([]ration.PointsGroup, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	// One placeholder per id: 18.16 takes a bound slice for an array,
	// which IN refuses.
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := r.conn.Query(ctx, `SELECT group_id, max(seq), argMax(name, seq), argMax(location, seq),
    argMax(balance, seq), argMax(members, seq), argMax(created_ms, seq), argMax(updated_ms, seq)
FROM `+r.qdb+`.points_groups WHERE group_id IN (?`+strings.Repeat(", ?", len(ids)-1)+`) GROUP BY group_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("groups: %w", err)
	}
	defer rows.Close()
	found := make(map[string]ration.PointsGroup, len(ids))
	for rows.Next() {
		var (
			g                ration.PointsGroup
			seq              uint64
			created, updated uint64
		)
		if err := rows.Scan(&g.GroupID, &seq, &g.Name, &g.Location, &g.Balance, &g.Members, &created, &updated); err != nil {
			return nil, fmt.Errorf("groups: %w", err)
		}
		g.Seq = int64(seq)
		g.CreatedAt = ration.Timestamp{Time: time.UnixMilli(int64(created)).UTC()}
		g.UpdatedAt = ration.Timestamp{Time: time.UnixMilli(int64(updated)).UTC()}
		found[g.GroupID] = g
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("groups: %w", err)
	}
	out := make([]ration.PointsGroup, 0, len(found))
	for _, id := range ids {
		if g, ok := found[id]; ok {
			out = append(out, g)
		}
	}
	return out, nil
}

// Group returns group id.
func (r *Reader) Group(ctx context.Context, id string) (ration.PointsGroup, error) {
	gs, err := r.Groups(ctx, []string{id})
	if err != nil {
		return ration.PointsGroup{}, err
	}
	if len(gs) == 0 {
		return ration.PointsGroup{}, fmt.Errorf("group %q: %w", id, ErrNotFound)
	}
	return gs[0], nil
}

// UserGroups returns the ids of the groups user created or joined.
func (r *Reader) UserGroups(ctx context.Context, user string) ([]string, error) {
	rows, err := r.conn.Query(ctx, `SELECT DISTINCT group_id FROM `+r.qdb+`.points_memberships
WHERE user_id = ? ORDER BY group_id`, user)
	if err != nil {
		return nil, fmt.Errorf("groups of %s: %w", user, err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("groups of %s: %w", user, err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// entryColumns are a ledger entry's columns, in PointsEntry's order.
const entryColumns = `group_id, seq, at_ms, toString(kind), command_id, issuer, user_id, points, balance, charged, discount, detail`

// GroupHistory returns up to limit entries of group's ledger, newest
// first, from before the cursor of an earlier page ("" for the newest);
// last is the group's latest entry (PointsGroup.Seq). A group's entries
// are numbered from 1 without gaps, so a page is the range of numbers
// below its cursor and reads those entries only; the next page's cursor
// is the lowest number of this one.
func (r *Reader) GroupHistory(ctx context.Context, group string, last int64, cursor string, limit int) (ration.PointsHistory, error) {
	before := last + 1
	if cursor != "" {
		n, err := strconv.ParseInt(cursor, 10, 64)
		if err != nil || n < 1 {
			return ration.PointsHistory{}, fmt.Errorf("%w: cursor %q", ErrBadCursor, cursor)
		}
		before = min(n, before)
	}
	from := max(1, before-int64(limit))
	rows, err := r.conn.Query(ctx, `SELECT `+entryColumns+` FROM `+r.qdb+`.points_group_ledger
WHERE group_id = ? AND seq >= ? AND seq < ? ORDER BY seq DESC LIMIT 1 BY seq`, group, from, before)
	if err != nil {
		return ration.PointsHistory{}, fmt.Errorf("history of %s: %w", group, err)
	}
	h, err := scanHistory(rows)
	if err != nil {
		return h, fmt.Errorf("history of %s: %w", group, err)
	}
	if from > 1 {
		h.NextCursor = strconv.FormatInt(from, 10)
	}
	return h, nil
}

// userWindow is the span of a user's history a page asks for first,
// before the cursor; it grows sixteenfold while a page comes up short, so
// a page asks at most three times over 20 years.
// points_user_ledger is ordered by user and time, so a window reads the
// user's rows of that time alone; without one, ClickHouse (18.16) would
// read every entry of the user's before the cursor to sort them.
const userWindow = 90 * 24 * time.Hour

// clockSlack is how far a ledger worker's clock, which times an entry,
// may be behind the API's, which times a user's sign-up.
const clockSlack = 24 * time.Hour

// UserHistory returns up to limit entries of user's across their groups,
// newest first, from before the cursor of an earlier page; since is when
// the user signed up, before which they have no entries.
func (r *Reader) UserHistory(ctx context.Context, user string, since time.Time, cursor string, limit int) (ration.PointsHistory, error) {
	at, group, seq, err := parseUserCursor(cursor)
	if err != nil {
		return ration.PointsHistory{}, err
	}
	floor := max(0, since.Add(-clockSlack).UnixMilli())
	top := min(int64(at), time.Now().Add(clockSlack).UnixMilli())
	for window := userWindow; ; window *= 16 {
		from := max(floor, top-window.Milliseconds())
		rows, err := r.conn.Query(ctx, `SELECT `+entryColumns+` FROM `+r.qdb+`.points_user_ledger
WHERE user_id = ? AND at_ms >= ? AND (at_ms < ? OR (at_ms = ? AND (group_id < ? OR (group_id = ? AND seq < ?))))
ORDER BY at_ms DESC, group_id DESC, seq DESC LIMIT 1 BY group_id, seq LIMIT ?`,
			user, from, at, at, group, group, seq, limit)
		if err != nil {
			return ration.PointsHistory{}, fmt.Errorf("history of %s: %w", user, err)
		}
		h, err := scanHistory(rows)
		if err != nil {
			return h, fmt.Errorf("history of %s: %w", user, err)
		}
		if len(h.Entries) == limit {
			e := h.Entries[len(h.Entries)-1]
			h.NextCursor = userCursor(uint64(e.At.UnixMilli()), e.GroupID, uint64(e.Seq))
			return h, nil
		}
		if from == floor {
			return h, nil
		}
	}
}

// userCursor is where a page of a user's history ended: its last entry's
// time, group and number.
func userCursor(at uint64, group string, seq uint64) string {
	return strconv.FormatUint(at, 10) + "~" + group + "~" + strconv.FormatUint(seq, 10)
}

// parseUserCursor reads a userCursor; "" is the newest end.
func parseUserCursor(cursor string) (at uint64, group string, seq uint64, err error) {
	if cursor == "" {
		return 1<<63 - 1, "", 0, nil
	}
	// The group sits between the first ~ and the last: it may hold one.
	first, last := strings.Index(cursor, "~"), strings.LastIndex(cursor, "~")
	var err1, err2 error = ErrBadCursor, nil
	if first >= 0 && last > first {
		at, err1 = strconv.ParseUint(cursor[:first], 10, 63)
		seq, err2 = strconv.ParseUint(cursor[last+1:], 10, 63)
		group = cursor[first+1 : last]
	}
	if err1 != nil || err2 != nil {
		return 0, "", 0, fmt.Errorf("%w: cursor %q", ErrBadCursor, cursor)
	}
	return at, group, seq, nil
}

// ErrBadCursor is a cursor no page gave.
var ErrBadCursor = fmt.Errorf("not a cursor of this list")

// scanHistory reads entries.
func scanHistory(rows driver.Rows) (ration.PointsHistory, error) {
	defer rows.Close()
	h := ration.PointsHistory{Entries: []ration.PointsEntry{}}
	for rows.Next() {
		var (
			e                 ration.PointsEntry
			seq, at           uint64
			charged, discount int64
		)
		if err := rows.Scan(&e.GroupID, &seq, &at, &e.Kind, &e.CommandID, &e.Issuer, &e.UserID, &e.Points, &e.Balance,
			&charged, &discount, &e.Detail); err != nil {
			return h, err
		}
		e.Seq, e.At = int64(seq), ration.Timestamp{Time: time.UnixMilli(int64(at)).UTC()}
		e.Charged, e.Discount = units(charged), units(discount)
		h.Entries = append(h.Entries, e)
	}
	return h, rows.Err()
}

// Outcome returns the outcome of command id of group, once the sink has
// stored it.
func (r *Reader) Outcome(ctx context.Context, group, id string) (Outcome, error) {
	rows, err := r.conn.Query(ctx, `SELECT toString(outcome), reason, command_id, issuer, toString(kind), user_id, points,
    balance, seq, charged, discount, detail, digest, at_ms
FROM `+r.qdb+`.points_command_outcomes WHERE group_id = ? AND id = ? LIMIT 1`, group, id)
	if err != nil {
		return Outcome{}, fmt.Errorf("outcome of %s: %w", id, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return Outcome{}, fmt.Errorf("outcome of %s: %w", id, err)
		}
		return Outcome{}, fmt.Errorf("outcome of %s: %w", id, ErrNotFound)
	}
	o := Outcome{ID: id, GroupID: group}
	var seq, at uint64
	if err := rows.Scan(&o.Outcome, &o.Reason, &o.CommandID, &o.Issuer, &o.Kind, &o.UserID, &o.Points, &o.Balance, &seq,
		&o.Charged, &o.Discount, &o.Detail, &o.Digest, &at); err != nil {
		return Outcome{}, fmt.Errorf("outcome of %s: %w", id, err)
	}
	o.Seq, o.At = int64(seq), time.UnixMilli(int64(at)).UTC()
	return o, nil
}

// LedgerSums returns each group's sum of points over its ledger, and its
// entries: what its balance must equal.
func (r *Reader) LedgerSums(ctx context.Context) (map[string][2]int64, error) {
	rows, err := r.conn.Query(ctx, `SELECT group_id, sum(points), count() FROM (
    SELECT group_id, seq, any(points) AS points FROM `+r.qdb+`.points_group_ledger GROUP BY group_id, seq)
GROUP BY group_id`)
	if err != nil {
		return nil, fmt.Errorf("ledger sums: %w", err)
	}
	defer rows.Close()
	out := make(map[string][2]int64)
	for rows.Next() {
		var (
			g   string
			sum int64
			n   uint64
		)
		if err := rows.Scan(&g, &sum, &n); err != nil {
			return nil, fmt.Errorf("ledger sums: %w", err)
		}
		out[g] = [2]int64{sum, int64(n)}
	}
	return out, rows.Err()
}

// units turns cents into currency units.
func units(cents int64) float64 { return float64(cents) / 100 }
