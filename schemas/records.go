package schemas

import (
	"fmt"
	"time"
)

// Record is a Go value with an Avro schema. Native and fromNative convert
// to and from goavro's native form.
type Record interface {
	schemaFile() string
	native() map[string]any
	fromNative(map[string]any) error
}

// Priority of a DM check.
type Priority string

// The priorities a mark can have.
const (
	PriorityNormal Priority = "normal"
	PriorityHigh   Priority = "high"
)

// DMUser registers a user into the universe of DM checks.
type DMUser struct {
	UserID       string
	RegisteredAt time.Time
}

// DMMark asks for one user to be checked.
type DMMark struct {
	UserID   string
	Priority Priority
	MarkedAt time.Time
}

// ResultStatus is the outcome of a DM check.
type ResultStatus string

// The outcomes of a DM check.
const (
	ResultChecked ResultStatus = "checked"
	ResultFailed  ResultStatus = "failed"
)

// DMResult is the outcome of checking one mark. MarkedAt names the mark it
// answers; OpenDM is nil when the check failed.
type DMResult struct {
	UserID    string
	Priority  Priority
	MarkedAt  time.Time
	CheckedAt time.Time
	Status    ResultStatus
	OpenDM    *bool
	Attempts  int
	Worker    string
	Error     string
}

// Status of an item after a stage touched it (RP-5).
type Status string

// The statuses an item can have.
const (
	StatusSuccess   Status = "SUCCESS"
	StatusFailed    Status = "FAILED"
	StatusError     Status = "ERROR"
	StatusReprocess Status = "REPROCESS"
	StatusProcessed Status = "PROCESSED"
)

// Event is one status change of one item in one stage.
type Event struct {
	ItemID          string
	Pipeline        string
	Stage           string
	Status          Status
	Attempt         int
	RetryCount      int
	Worker          string
	SourceTopic     string
	SourcePartition int32
	SourceOffset    int64
	ErrorClass      string
	Error           string
	Time            time.Time
}

func (*DMUser) schemaFile() string { return "dm_user.avsc" }

func (u *DMUser) native() map[string]any {
	return map[string]any{"user_id": u.UserID, "registered_at": u.RegisteredAt}
}

func (u *DMUser) fromNative(m map[string]any) error {
	var d decoder
	u.UserID = d.str(m, "user_id")
	u.RegisteredAt = d.time(m, "registered_at")
	return d.err
}

func (*DMMark) schemaFile() string { return "dm_mark.avsc" }

func (k *DMMark) native() map[string]any {
	return map[string]any{"user_id": k.UserID, "priority": string(k.Priority), "marked_at": k.MarkedAt}
}

func (k *DMMark) fromNative(m map[string]any) error {
	var d decoder
	k.UserID = d.str(m, "user_id")
	k.Priority = Priority(d.str(m, "priority"))
	k.MarkedAt = d.time(m, "marked_at")
	return d.err
}

func (*DMResult) schemaFile() string { return "dm_result.avsc" }

func (r *DMResult) native() map[string]any {
	var open any
	if r.OpenDM != nil {
		open = map[string]any{"boolean": *r.OpenDM}
	}
	return map[string]any{
		"user_id": r.UserID, "priority": string(r.Priority), "marked_at": r.MarkedAt,
		"checked_at": r.CheckedAt, "status": string(r.Status), "open_dm": open,
		"attempts": int32(r.Attempts), "worker": r.Worker, "error": r.Error,
	}
}

func (r *DMResult) fromNative(m map[string]any) error {
	var d decoder
	r.UserID = d.str(m, "user_id")
	r.Priority = Priority(d.str(m, "priority"))
	r.MarkedAt = d.time(m, "marked_at")
	r.CheckedAt = d.time(m, "checked_at")
	r.Status = ResultStatus(d.str(m, "status"))
	r.OpenDM = nil
	if u, ok := m["open_dm"].(map[string]any); ok {
		if b, ok := u["boolean"].(bool); ok {
			r.OpenDM = &b
		}
	}
	r.Attempts = int(d.int(m, "attempts"))
	r.Worker = d.str(m, "worker")
	r.Error = d.str(m, "error")
	return d.err
}

func (*Event) schemaFile() string { return "event.avsc" }

func (e *Event) native() map[string]any {
	return map[string]any{
		"item_id": e.ItemID, "pipeline": e.Pipeline, "stage": e.Stage, "status": string(e.Status),
		"attempt": int32(e.Attempt), "retry_count": int32(e.RetryCount), "worker": e.Worker,
		"source_topic": e.SourceTopic, "source_partition": e.SourcePartition, "source_offset": e.SourceOffset,
		"error_class": e.ErrorClass, "error": e.Error, "time": e.Time,
	}
}

func (e *Event) fromNative(m map[string]any) error {
	var d decoder
	e.ItemID = d.str(m, "item_id")
	e.Pipeline = d.str(m, "pipeline")
	e.Stage = d.str(m, "stage")
	e.Status = Status(d.str(m, "status"))
	e.Attempt = int(d.int(m, "attempt"))
	e.RetryCount = int(d.int(m, "retry_count"))
	e.Worker = d.str(m, "worker")
	e.SourceTopic = d.str(m, "source_topic")
	e.SourcePartition = int32(d.int(m, "source_partition"))
	e.SourceOffset = d.int(m, "source_offset")
	e.ErrorClass = d.str(m, "error_class")
	e.Error = d.str(m, "error")
	e.Time = d.time(m, "time")
	return d.err
}

// decoder reads fields out of goavro's native form and keeps the first
// type mismatch, so the fromNative methods stay flat.
type decoder struct{ err error }

func (d *decoder) fail(field string, v any) {
	if d.err == nil {
		d.err = fmt.Errorf("field %s: unexpected %T", field, v)
	}
}

func (d *decoder) str(m map[string]any, field string) string {
	s, ok := m[field].(string)
	if !ok {
		d.fail(field, m[field])
	}
	return s
}

func (d *decoder) int(m map[string]any, field string) int64 {
	switch v := m[field].(type) {
	case int32:
		return int64(v)
	case int64:
		return v
	default:
		d.fail(field, v)
		return 0
	}
}

func (d *decoder) time(m map[string]any, field string) time.Time {
	t, ok := m[field].(time.Time)
	if !ok {
		d.fail(field, m[field])
	}
	return t
}
