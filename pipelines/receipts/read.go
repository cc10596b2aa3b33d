package receipts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/sink"
)

// View is a receipt as the read API shows it.
type View = ration.Receipt

// ErrNotFound is a receipt the reader does not have (or may not show).
var ErrNotFound = ration.ErrNotFound

// Reader answers the receipts' read API from the read model
// (migrations/0001, 0004, 0005, 0006): a lookup reads one receipt's rows,
// a page the rows of the receipts it returns and of those it skips in the
// period, a repeat check the ids it asks about.
type Reader struct {
	conn   driver.Conn
	qdb    string
	lookup string // the table a lookup by id reads, with its database
	ids    string // the table a repeat check reads first, with its database
}

// NewReader reads database db through conn (sink.Open, which has applied
// the pipeline's migrations).
func NewReader(conn driver.Conn, db string) (*Reader, error) {
	qdb, err := sink.QuoteDB(db)
	if err != nil {
		return nil, err
	}
	return &Reader{conn: conn, qdb: qdb, lookup: qdb + "." + byIDTable.Name, ids: qdb + "." + idsTable.Name}, nil
}

// latest picks a receipt's latest row: ReplacingMergeTree keeps it on
// merge, and until then argMax over the version picks it.
const latest = `argMax(type, version), toString(argMax(status, version)), argMax(received_ms, version),
    argMax(accepted_ms, version), argMax(tax_registration, version), argMax(logistics_registration, version),
    argMax(reason, version), argMax(parked_stage, version), argMax(digest, version)`

// Receipt returns the receipt id of client.
func (r *Reader) Receipt(ctx context.Context, client, id string) (View, error) {
	views, err := r.views(ctx, `SELECT id, `+latest+` FROM `+r.lookup+`
WHERE client = ? AND id = ? GROUP BY id`, client, id)
	if err != nil {
		return View{}, err
	}
	if len(views) == 0 {
		return View{}, fmt.Errorf("receipt %q: %w", id, ErrNotFound)
	}
	return views[0], nil
}

// Document returns the receipt id of client as it was sent, and its
// content type.
func (r *Reader) Document(ctx context.Context, client, id string) (contentType string, doc []byte, err error) {
	v, err := r.Receipt(ctx, client, id)
	if err != nil {
		return "", nil, err
	}
	// The status's received time is that of the receipt's latest record
	// under its digest, and each record's document is stored with its
	// time: asking for that time reads its month's partition, not every
	// month's.
	var at uint64
	if v.ReceivedAt != nil {
		at = uint64(v.ReceivedAt.UnixMilli())
	}
	var body string
	err = r.conn.QueryRow(ctx, `SELECT content_type, document FROM `+r.qdb+`.receipt_documents
WHERE client = ? AND id = ? AND digest = ? AND received_ms = ? LIMIT 1`, client, id, v.Digest, at).Scan(&contentType, &body)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil, fmt.Errorf("document of %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return "", nil, fmt.Errorf("document: %w", err)
	}
	return contentType, []byte(body), nil
}

// Filter selects a page of receipts.
type Filter struct {
	Client   string    // whose receipts; "" for every client's
	From, To time.Time // received in [From, To)
	Status   Status    // "" for any
	Type     string    // "" for any
	Limit    int
	Cursor   string // where the previous page ended; "" for the first
}

// Page is one page of receipts (ration.ReceiptPage).
type Page = ration.ReceiptPage

// List returns a page of f.Client's receipts, or with no client every
// client's (listAll). Every match is on exactly one page: a page ends at a
// receipt, the next starts after it.
//
// A client's page aggregates only the rows of a range of its receipts: it
// asks for the k-th row after the cursor (k = limit+1, doubled while older
// versions, rows of receipts that left the status, or other types make the
// range come up short), then aggregates the range up to it.
func (r *Reader) List(ctx context.Context, f Filter) (Page, error) {
	afterMs, afterID, err := decodeCursor(f.Cursor)
	if err != nil {
		return Page{}, err
	}
	if f.Client == "" {
		return r.listAll(ctx, f, afterMs, afterID)
	}
	table, where, live, statusColumn := "receipts_by_time", "client = ?", "1", "toString(argMax(status, version))"
	args := []any{f.Client}
	if f.Status != "" {
		table, live, statusColumn = "receipts_by_status", "argMax(deleted, version) = 0", "toString(any(status))"
		where += " AND status = ?"
		args = append(args, string(f.Status))
	}
	where += " AND received_ms >= ? AND received_ms < ?"
	args = append(args, uint64(f.From.UnixMilli()), uint64(f.To.UnixMilli()))
	having := live
	if f.Type != "" {
		having += " AND argMax(type, version) = ?"
	}
	var views []View
	const after = "(received_ms > ? OR (received_ms = ? AND id > ?))"
	for k := f.Limit + 1; len(views) <= f.Limit; k *= 2 {
		// The k-th row after the cursor bounds the range; without one the
		// range runs to the end of the period.
		bound, boundArgs, last := "", []any(nil), false
		var upperMs uint64
		var upperID string
		err := r.conn.QueryRow(ctx, fmt.Sprintf(`SELECT received_ms, id FROM %s.%s WHERE %s AND %s
ORDER BY received_ms, id LIMIT %d, 1`, r.qdb, table, where, after, k-1), append(args, afterMs, afterMs, afterID)...).Scan(&upperMs, &upperID)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			last = true
		case err != nil:
			return Page{}, fmt.Errorf("receipts: %w", err)
		default:
			bound = " AND (received_ms < ? OR (received_ms = ? AND id <= ?))"
			boundArgs = []any{upperMs, upperMs, upperID}
		}
		q := fmt.Sprintf(`SELECT id, `+strings.Replace(latest, "toString(argMax(status, version))", statusColumn, 1)+`
FROM %s.%s WHERE %s AND %s%s
GROUP BY id HAVING %s ORDER BY argMax(received_ms, version), id LIMIT %d`, r.qdb, table, where, after, bound, having, f.Limit+1-len(views))
		qargs := append(append(append([]any{}, args...), afterMs, afterMs, afterID), boundArgs...)
		if f.Type != "" {
			qargs = append(qargs, f.Type)
		}
		got, err := r.views(ctx, q, qargs...)
		if err != nil {
			return Page{}, err
		}
		views = append(views, got...)
		if last {
			break
		}
		afterMs, afterID = upperMs, upperID
	}
	return pageOf(views, f.Limit), nil
}

// pageOf is the page of views (at most limit + 1, in order) that shows
// limit of them and, when there are more, where the next page starts.
func pageOf(views []View, limit int) Page {
	page := Page{Receipts: views}
	if len(views) > limit {
		page.Receipts = views[:limit]
		last := views[limit-1]
		page.Next = encodeCursor(uint64(last.ReceivedAt.UnixMilli()), last.ID)
	}
	if page.Receipts == nil {
		page.Receipts = []View{}
	}
	return page
}

// An admin's page reads receipts_by_received a minute first, and a range
// four times as long each time one comes up short: a minute holds a page
// at a few receipts a second, and a sparse period takes a few growths.
const (
	firstWindow  = time.Minute
	windowGrowth = 4
)

// listAll returns a page of every client's receipts from
// receipts_by_received (migrations/0004), a range of time at a time from
// the cursor: ClickHouse 18.16 reads every row of a range before an ORDER
// BY … LIMIT, so the range starts small and grows while one holds fewer
// receipts than the page still needs, and the page reads about the rows it
// returns rather than the period.
func (r *Reader) listAll(ctx context.Context, f Filter, afterMs uint64, afterID string) (Page, error) {
	from, to := max(uint64(f.From.UnixMilli()), afterMs), uint64(f.To.UnixMilli())
	having, filter := "1", []any(nil)
	if f.Status != "" {
		having += " AND toString(argMax(status, version)) = ?"
		filter = append(filter, string(f.Status))
	}
	if f.Type != "" {
		having += " AND argMax(type, version) = ?"
		filter = append(filter, f.Type)
	}
	var views []View
	for window := uint64(firstWindow.Milliseconds()); len(views) <= f.Limit && from < to; window *= windowGrowth {
		end := min(from+window, to)
		need := f.Limit + 1 - len(views)
		got, err := r.views(ctx, fmt.Sprintf(`SELECT id, `+latest+` FROM %s.receipts_by_received
WHERE received_ms >= ? AND received_ms < ? AND (received_ms > ? OR (received_ms = ? AND id > ?))
GROUP BY id HAVING %s ORDER BY argMax(received_ms, version), id LIMIT %d`, r.qdb, having, need),
			append([]any{from, end, afterMs, afterMs, afterID}, filter...)...)
		if err != nil {
			return Page{}, err
		}
		views = append(views, got...)
		from = end // a range that did not fill the page was read to its end
	}
	return pageOf(views, f.Limit), nil
}

// views runs query q, whose columns are id then latest's, and returns
// its receipts.
func (r *Reader) views(ctx context.Context, q string, args ...any) ([]View, error) {
	rows, err := r.conn.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("receipts: %w", err)
	}
	views, err := scanViews(rows)
	if err != nil {
		return nil, fmt.Errorf("receipts: %w", err)
	}
	return views, nil
}

func scanViews(rows driver.Rows) ([]View, error) {
	defer rows.Close()
	var out []View
	for rows.Next() {
		var (
			v                    View
			status               string
			receivedMs, accepted uint64
		)
		if err := rows.Scan(&v.ID, &v.Type, &status, &receivedMs, &accepted, &v.TaxRegistration, &v.LogisticsRegistration,
			&v.Reason, &v.ParkedStage, &v.Digest); err != nil {
			return nil, err
		}
		v.Status = Status(status)
		v.ReceivedAt, v.AcceptedAt = stamp(receivedMs), stamp(accepted)
		out = append(out, v)
	}
	return out, rows.Err()
}

func stamp(ms uint64) *ration.Timestamp {
	if ms == 0 {
		return nil
	}
	return ration.NewTimestamp(time.UnixMilli(int64(ms)).UTC())
}

// A cursor is the (received_ms, id) a page ended at, base64url-encoded so
// clients treat it as opaque.
func encodeCursor(ms uint64, id string) string {
	return ration.EncodeCursor(strconv.FormatUint(ms, 10) + "/" + id)
}

// ErrBadCursor is a cursor no page gave.
var ErrBadCursor = ration.ErrBadCursor

func decodeCursor(c string) (uint64, string, error) {
	if c == "" {
		return 0, "", nil
	}
	pos, err := ration.DecodeCursor(c)
	if err != nil {
		return 0, "", err
	}
	ms, id, ok := strings.Cut(pos, "/")
	if n, perr := strconv.ParseUint(ms, 10, 64); ok && perr == nil && id != "" {
		return n, id, nil
	}
	return 0, "", fmt.Errorf("cursor %.40q: %w", c, ErrBadCursor)
}
