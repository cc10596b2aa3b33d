package sink

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/schemas"
)

// table is a ClickHouse table the sink writes, with the columns in the
// order a row's values come in. 18.16 needs the column list on inserts.
type table struct {
	name    string
	columns []string
}

var (
	dmUserLog = &table{name: "dm_user_log", columns: []string{
		"user_id", "kind", "ts_ms", "marked_at_ms", "priority", "status",
		"open_dm", "attempts", "worker", "error", "src", "day",
	}}
	events = &table{name: "events", columns: []string{
		"event_id", "item_id", "pipeline", "stage", "status", "attempt", "retry_count", "worker",
		"source_topic", "source_partition", "source_offset", "error_class", "error", "time_ms", "day",
	}}
	audit = &table{name: "audit", columns: []string{
		"src", "client", "method", "route", "target", "status", "time_ms", "day",
	}}
	// tables lists every table in the order a flush inserts them.
	tables = []*table{dmUserLog, events, audit}
)

func (t *table) insertSQL(qdb string) string {
	return "INSERT INTO " + qdb + "." + t.name + " (" + strings.Join(t.columns, ", ") + ")"
}

// row is one row of a table, its values in the table's column order.
type row struct {
	table  *table
	values []any
}

// errNoRow is a record that decodes but cannot be stored.
var errNoRow = errors.New("record cannot be stored")

// ClickHouse's Date covers 1970-01-01 to 2149-06-06; a time outside would
// fail the whole batch's insert, not just its row.
var (
	minDay = time.Unix(0, 0).UTC()
	maxDay = time.Date(2149, 6, 6, 0, 0, 0, 0, time.UTC)
)

// convert decodes r and returns its row.
func convert(codec *schemas.Codec, r *kgo.Record) (row, error) {
	src := r.Topic + "/" + strconv.Itoa(int(r.Partition)) + "/" + strconv.FormatInt(r.Offset, 10)
	switch r.Topic {
	case schemas.TopicDMUsers:
		var u schemas.DMUser
		if err := codec.Decode(r.Value, &u); err != nil {
			return row{}, err
		}
		return dmRow(u.UserID, "register", u.RegisteredAt, time.Time{}, schemas.PriorityNormal, "none", nil, 0, "", "", src)
	case schemas.TopicDMChecks, schemas.TopicDMChecksHigh:
		var m schemas.DMMark
		if err := codec.Decode(r.Value, &m); err != nil {
			return row{}, err
		}
		return dmRow(m.UserID, "mark", m.MarkedAt, m.MarkedAt, m.Priority, "none", nil, 0, "", "", src)
	case schemas.TopicDMResults:
		var res schemas.DMResult
		if err := codec.Decode(r.Value, &res); err != nil {
			return row{}, err
		}
		return dmRow(res.UserID, "result", res.CheckedAt, res.MarkedAt, res.Priority, string(res.Status),
			res.OpenDM, res.Attempts, res.Worker, res.Error, src)
	case schemas.TopicEvents:
		var e schemas.Event
		if err := codec.Decode(r.Value, &e); err != nil {
			return row{}, err
		}
		return eventRow(e, src)
	case schemas.TopicAudit:
		var a schemas.Audit
		if err := codec.Decode(r.Value, &a); err != nil {
			return row{}, err
		}
		return auditRow(a, src)
	}
	return row{}, fmt.Errorf("%w: %w", errNoRow, schemas.ErrUnknownTopic)
}

func dmRow(user, kind string, ts, markedAt time.Time, prio schemas.Priority, status string,
	open *bool, attempts int, worker, errText, src string) (row, error) {
	if err := storable(ts); err != nil {
		return row{}, err
	}
	var markedMs uint64
	if !markedAt.IsZero() {
		if err := storable(markedAt); err != nil {
			return row{}, err
		}
		markedMs = uint64(markedAt.UnixMilli())
	}
	openDM := int8(-1)
	if open != nil {
		openDM = 0
		if *open {
			openDM = 1
		}
	}
	return row{table: dmUserLog, values: []any{
		user, kind, uint64(ts.UnixMilli()), markedMs, string(prio), status,
		openDM, clampU16(attempts), worker, errText, src, ts.UTC(),
	}}, nil
}

func eventRow(e schemas.Event, src string) (row, error) {
	if err := storable(e.Time); err != nil {
		return row{}, err
	}
	return row{table: events, values: []any{
		src, e.ItemID, e.Pipeline, e.Stage, string(e.Status), clampU16(e.Attempt), clampU16(e.RetryCount),
		e.Worker, e.SourceTopic, e.SourcePartition, e.SourceOffset, e.ErrorClass, e.Error,
		uint64(e.Time.UnixMilli()), e.Time.UTC(),
	}}, nil
}

func auditRow(a schemas.Audit, src string) (row, error) {
	if err := storable(a.Time); err != nil {
		return row{}, err
	}
	return row{table: audit, values: []any{
		src, a.Client, a.Method, a.Route, a.Target, clampU16(a.Status), uint64(a.Time.UnixMilli()), a.Time.UTC(),
	}}, nil
}

func storable(t time.Time) error {
	if t.Before(minDay) || !t.Before(maxDay) {
		return fmt.Errorf("%w: time %s outside 1970..2149", errNoRow, t.UTC().Format(time.RFC3339))
	}
	return nil
}

func clampU16(n int) uint16 {
	return uint16(max(0, min(n, math.MaxUint16)))
}
