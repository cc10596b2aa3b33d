package dm

import (
	"embed"
	"time"

	"github.com/rationhq/ration/schemas"
	"github.com/rationhq/ration/schemas/avrobin"
)

//go:embed avro/*.avsc
var avsc embed.FS

var (
	userSchema      = schemas.MustSchema(avsc, "avro/user.avsc")
	markSchema      = schemas.MustSchema(avsc, "avro/mark.avsc")
	resultSchema    = schemas.MustSchema(avsc, "avro/result.avsc")
	userStateSchema = schemas.MustSchema(avsc, "avro/user_state.avsc")
	countsSchema    = schemas.MustSchema(avsc, "avro/counts.avsc")
	foldSchema      = schemas.MustSchema(avsc, "avro/fold.avsc")
)

// Priority of a DM check.
type Priority string

// The priorities a mark can have.
const (
	PriorityNormal Priority = "normal"
	PriorityHigh   Priority = "high"
)

// User registers a user into the universe of DM checks (topic
// ration.dm.users).
type User struct {
	UserID       string    `avro:"user_id"`
	RegisteredAt time.Time `avro:"registered_at"`
}

// Mark asks for one user to be checked (ration.dm.checks,
// ration.dm.checks.high).
type Mark struct {
	UserID   string    `avro:"user_id"`
	Priority Priority  `avro:"priority"`
	MarkedAt time.Time `avro:"marked_at"`
}

// ResultStatus is the outcome of a DM check.
type ResultStatus string

// The outcomes of a DM check.
const (
	ResultChecked ResultStatus = "checked"
	ResultFailed  ResultStatus = "failed"
)

// Result is the outcome of checking one mark (ration.dm.results).
// MarkedAt names the mark it answers; OpenDM is nil when the check failed.
type Result struct {
	UserID    string       `avro:"user_id"`
	Priority  Priority     `avro:"priority"`
	MarkedAt  time.Time    `avro:"marked_at"`
	CheckedAt time.Time    `avro:"checked_at"`
	Status    ResultStatus `avro:"status"`
	OpenDM    *bool        `avro:"open_dm"`
	Attempts  int          `avro:"attempts"`
	Worker    string       `avro:"worker"`
	Error     string       `avro:"error"`
}

// AvroSchema implements schemas.Record.
func (*User) AvroSchema() *schemas.Schema { return userSchema }

// AvroSchema implements schemas.Record.
func (*Mark) AvroSchema() *schemas.Schema { return markSchema }

// AvroSchema implements schemas.Record.
func (*Result) AvroSchema() *schemas.Schema { return resultSchema }

// Marks and results are encoded by hand (package avrobin): building
// goavro's map form cost more than the rest of a DM check
// (docs/benchmarks.md). records_test.go holds them to goavro's bytes.

var (
	prioritySymbols = []string{"normal", "high"}
	statusSymbols   = []string{"checked", "failed"}
)

// AppendAvro implements the hand-written encoding (see schemas.Record).
func (u *User) AppendAvro(b []byte) ([]byte, error) {
	b = avrobin.AppendString(b, u.UserID)
	return avrobin.AppendMillis(b, u.RegisteredAt), nil
}

// ReadAvro implements the hand-written decoding.
func (u *User) ReadAvro(b []byte) error {
	r := avrobin.NewReader(b)
	u.UserID = r.String("user_id")
	u.RegisteredAt = r.Millis("registered_at")
	return r.Done()
}

// AppendAvro implements the hand-written encoding.
func (m *Mark) AppendAvro(b []byte) ([]byte, error) {
	b = avrobin.AppendString(b, m.UserID)
	b, err := avrobin.AppendEnum(b, "priority", string(m.Priority), prioritySymbols...)
	if err != nil {
		return b, err
	}
	return avrobin.AppendMillis(b, m.MarkedAt), nil
}

// ReadAvro implements the hand-written decoding.
func (m *Mark) ReadAvro(b []byte) error {
	r := avrobin.NewReader(b)
	m.UserID = r.String("user_id")
	m.Priority = Priority(r.Enum("priority", prioritySymbols...))
	m.MarkedAt = r.Millis("marked_at")
	return r.Done()
}

// AppendAvro implements the hand-written encoding.
func (res *Result) AppendAvro(b []byte) ([]byte, error) {
	b = avrobin.AppendString(b, res.UserID)
	b, err := avrobin.AppendEnum(b, "priority", string(res.Priority), prioritySymbols...)
	if err != nil {
		return b, err
	}
	b = avrobin.AppendMillis(b, res.MarkedAt)
	b = avrobin.AppendMillis(b, res.CheckedAt)
	if b, err = avrobin.AppendEnum(b, "status", string(res.Status), statusSymbols...); err != nil {
		return b, err
	}
	b = avrobin.AppendOptBool(b, res.OpenDM)
	b = avrobin.AppendLong(b, int64(res.Attempts))
	b = avrobin.AppendString(b, res.Worker)
	return avrobin.AppendString(b, res.Error), nil
}

// ReadAvro implements the hand-written decoding.
func (res *Result) ReadAvro(b []byte) error {
	r := avrobin.NewReader(b)
	res.UserID = r.String("user_id")
	res.Priority = Priority(r.Enum("priority", prioritySymbols...))
	res.MarkedAt = r.Millis("marked_at")
	res.CheckedAt = r.Millis("checked_at")
	res.Status = ResultStatus(r.Enum("status", statusSymbols...))
	res.OpenDM = r.OptBool("open_dm")
	res.Attempts = r.Int("attempts")
	res.Worker = r.String("worker")
	res.Error = r.String("error")
	return r.Done()
}

// UserState is a user's state after a change (topic ration.dm.states),
// written by the state view; the sink keeps the latest version per user.
type UserState struct {
	UserID    string    `avro:"user_id"`
	State     string    `avro:"state"`
	PrevState string    `avro:"prev_state"`
	Priority  string    `avro:"priority"`
	MarkedAt  time.Time `avro:"marked_at"`
	CheckedAt time.Time `avro:"checked_at"`
	OpenDM    *bool     `avro:"open_dm"`
	Attempts  int       `avro:"attempts"`
	Version   int64     `avro:"version"`
}

// Counts is how many users of one bucket are in each state, and the
// oldest mark still waiting (topic ration.dm.counts), written by the state
// view once per batch and bucket.
type Counts struct {
	Bucket        int32     `avro:"bucket"`
	Unmarked      int64     `avro:"unmarked"`
	Pending       int64     `avro:"pending"`
	Parked        int64     `avro:"parked"`
	Checked       int64     `avro:"checked"`
	Failed        int64     `avro:"failed"`
	OldestWaiting time.Time `avro:"oldest_waiting"`
	Version       int64     `avro:"version"`
}

// Fold is what the state view knows of one user: the maxima over its
// records that decide its state (see fold.go).
type Fold struct {
	Known          bool   `avro:"known"`
	Marked         int64  `avro:"marked"`
	Answered       int64  `avro:"answered"`
	Parked         int64  `avro:"parked"`
	Retried        int64  `avro:"retried"`
	GaveUp         int64  `avro:"gave_up"`
	Priority       string `avro:"priority"`
	PriorityAt     int64  `avro:"priority_at"`
	ResultStatus   string `avro:"result_status"`
	ResultOpen     int    `avro:"result_open"`
	ResultAttempts int    `avro:"result_attempts"`
	ResultAt       int64  `avro:"result_at"`
	ResultMarked   int64  `avro:"result_marked"`
	ResultSrc      string `avro:"result_src"`
	State          string `avro:"state"`
	Version        int64  `avro:"version"`
}

// AvroSchema implements schemas.Record.
func (*UserState) AvroSchema() *schemas.Schema { return userStateSchema }

// AvroSchema implements schemas.Record.
func (*Counts) AvroSchema() *schemas.Schema { return countsSchema }

// AvroSchema implements schemas.Record.
func (*Fold) AvroSchema() *schemas.Schema { return foldSchema }
