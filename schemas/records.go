package schemas

import "time"

// Record is a Go value with an Avro schema: appendAvro encodes it
// (encode.go) and readAvro decodes it (decode.go).
type Record interface {
	schemaFile() string
	appendAvro([]byte) ([]byte, error)
	readAvro([]byte) error
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

func (*DMMark) schemaFile() string { return "dm_mark.avsc" }

func (*DMResult) schemaFile() string { return "dm_result.avsc" }

func (*Event) schemaFile() string { return "event.avsc" }
