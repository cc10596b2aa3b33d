package sink

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration"
	"github.com/rationhq/ration/schemas"
)

// Table is a ClickHouse table the sink writes, with the columns in the
// order a row's values come in. 18.16 needs the column list on inserts.
type Table struct {
	Name    string
	Columns []string
	// Lookup marks the table a read asks first, to learn what the
	// others hold (a group's latest entry, a receipt's status, a user's
	// state): a flush inserts it after every other table, so that what
	// it shows the others already have.
	Lookup bool
}

// withTable returns tables with t added in its place: in the order met,
// lookup tables after the rest.
func withTable(tables []*Table, t *Table) []*Table {
	if slices.Contains(tables, t) {
		return tables
	}
	at := len(tables)
	if !t.Lookup {
		if i := slices.IndexFunc(tables, func(t *Table) bool { return t.Lookup }); i >= 0 {
			at = i
		}
	}
	return slices.Insert(tables, at, t)
}

func (t *Table) insertSQL(qdb string) string {
	return "INSERT INTO " + qdb + "." + t.Name + " (" + strings.Join(t.Columns, ", ") + ")"
}

// Row is one row of a table, its values in the table's column order.
type Row struct {
	Table  *Table
	Values []any
}

// Mapping turns the records of one topic into rows. Rows decodes a record
// and returns its rows (none to skip it); an error skips the record too,
// logged and counted, so that one bad record never wedges the sink.
//
// Tables are designed so that a record stored twice (a replayed batch)
// never changes an answer: rows carry the record's Src, and tables
// collapse or aggregate over it.
//
// A flush inserts its tables one after the other, in the order the sink
// first met them among rows but lookup tables (Table.Lookup) last, and
// stores none of a batch's offsets until all are in.
type Mapping struct {
	Topic string
	Rows  func(codec *schemas.Codec, r *kgo.Record) ([]Row, error)
}

// ErrNoRow is a record that decodes but cannot be stored.
var ErrNoRow = errors.New("record cannot be stored")

// Src names a record by its topic, partition and offset: the column that
// makes a replayed record collapse into its first copy.
func Src(r *kgo.Record) string {
	return r.Topic + "/" + strconv.Itoa(int(r.Partition)) + "/" + strconv.FormatInt(r.Offset, 10)
}

// ClickHouse's Date covers 1970-01-01 to 2149-06-06; a time outside would
// fail the whole batch's insert, not just its row.
var (
	minDay = time.Unix(0, 0).UTC()
	maxDay = time.Date(2149, 6, 6, 0, 0, 0, 0, time.UTC)
)

// Storable reports a time that no Date column can hold, wrapping
// ErrNoRow.
func Storable(t time.Time) error {
	if t.Before(minDay) || !t.Before(maxDay) {
		return fmt.Errorf("%w: time %s outside 1970..2149", ErrNoRow, t.UTC().Format(time.RFC3339))
	}
	return nil
}

// ClampU16 fits n into a UInt16 column.
func ClampU16(n int) uint16 {
	return uint16(max(0, min(n, math.MaxUint16)))
}

// The shared tables: every pipeline's status events and the audit log.
var (
	eventsTable = &Table{Name: "events", Columns: []string{
		"event_id", "item_id", "pipeline", "stage", "status", "attempt", "retry_count", "worker",
		"source_topic", "source_partition", "source_offset", "error_class", "error", "time_ms", "day",
	}}
	auditTable = &Table{Name: "audit", Columns: []string{
		"src", "client", "method", "route", "target", "status", "time_ms", "day",
	}}
)

// EventsMapping stores a pipeline's status events (its events topic) in
// the events table.
func EventsMapping(topic string) Mapping {
	return Mapping{Topic: topic, Rows: func(codec *schemas.Codec, r *kgo.Record) ([]Row, error) {
		var e schemas.Event
		if err := codec.Decode(r.Value, &e); err != nil {
			return nil, err
		}
		if err := Storable(e.Time); err != nil {
			return nil, err
		}
		return []Row{{Table: eventsTable, Values: []any{
			Src(r), e.ItemID, e.Pipeline, e.Stage, string(e.Status), ClampU16(e.Attempt), ClampU16(e.RetryCount),
			e.Worker, e.SourceTopic, e.SourcePartition, e.SourceOffset, e.ErrorClass, e.Error,
			uint64(e.Time.UnixMilli()), e.Time.UTC(),
		}}}, nil
	}}
}

// ItemEvent is event e as an item's history reads it back from the
// events table (ItemHistory): counts clamped as stored, the time to the
// millisecond in UTC. A reader that answers a history from the events
// topic itself makes each event with it, so both answers are the same.
func ItemEvent(e schemas.Event) ration.ItemEvent {
	return ration.ItemEvent{ItemID: e.ItemID, Pipeline: e.Pipeline, Stage: e.Stage, Status: string(e.Status),
		Attempt: int(ClampU16(e.Attempt)), RetryCount: int(ClampU16(e.RetryCount)), Worker: e.Worker,
		SourceTopic: e.SourceTopic, SourcePartition: e.SourcePartition, SourceOffset: e.SourceOffset,
		ErrorClass: e.ErrorClass, Error: e.Error, Time: ration.Timestamp{Time: time.UnixMilli(e.Time.UnixMilli()).UTC()}}
}

// AuditMapping stores the audit log.
func AuditMapping() Mapping {
	return Mapping{Topic: schemas.TopicAudit, Rows: func(codec *schemas.Codec, r *kgo.Record) ([]Row, error) {
		var a schemas.Audit
		if err := codec.Decode(r.Value, &a); err != nil {
			return nil, err
		}
		if err := Storable(a.Time); err != nil {
			return nil, err
		}
		return []Row{{Table: auditTable, Values: []any{
			Src(r), a.Client, a.Method, a.Route, a.Target, ClampU16(a.Status), uint64(a.Time.UnixMilli()), a.Time.UTC(),
		}}}, nil
	}}
}
