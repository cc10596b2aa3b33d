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

// ClientKind tells an HTTP API client from a Kafka worker.
type ClientKind string

// The kinds of client.
const (
	ClientAPI    ClientKind = "api"
	ClientWorker ClientKind = "worker"
)

// Scope is what an API client may do: read < write < admin.
type Scope string

// The scopes, each including the ones before it.
const (
	ScopeRead  Scope = "read"
	ScopeWrite Scope = "write"
	ScopeAdmin Scope = "admin"
)

// Client is one registered client (topic ration.clients, key Name).
// KeyHash is the hex SHA-256 of its API key, never the key; workers have
// none (their credentials live in Kafka's SCRAM store).
type Client struct {
	Name      string
	Kind      ClientKind
	Scope     Scope
	KeyHash   string
	Pipeline  string
	CreatedAt time.Time
	Revoked   bool
}

// Audit is one authenticated write request or client-management action.
// Target is the client a management action was about, if any.
type Audit struct {
	Client string
	Method string
	Route  string
	Target string
	Status int
	Time   time.Time
}

// KeyBlock is the records of one key in a stage's retry loop (topic
// <input>.blocked, key = the item key): Seqs are their sequence numbers,
// oldest first, Tiers[i] the delay tier Seqs[i] waits in, NextSeq the
// number the next record to join gets. A tombstone means none is in the
// loop.
type KeyBlock struct {
	Seqs    []int
	Tiers   []int
	NextSeq int
}

// ReprocessState is what the reprocessor did to one item (compacted topic
// ration.reprocess.state, key Pipeline + "/" + ItemID). SentAt is the time
// of the last re-send; a zero SentAt, FailedAt or NotifiedAt means never
// (0 on the wire). Stage and Error are the item's stage and last error
// when it was given up on (empty unless FailedAt is set): what its
// notification tells, in whichever run that goes out.
type ReprocessState struct {
	Pipeline   string
	ItemID     string
	RetryCount int
	SentAt     time.Time
	FailedAt   time.Time
	NotifiedAt time.Time
	Stage      string
	Error      string
}

func (*DMUser) schemaFile() string { return "dm_user.avsc" }

func (*DMMark) schemaFile() string { return "dm_mark.avsc" }

func (*DMResult) schemaFile() string { return "dm_result.avsc" }

func (*Event) schemaFile() string { return "event.avsc" }

func (*Client) schemaFile() string { return "client.avsc" }

func (*Audit) schemaFile() string { return "audit.avsc" }

func (*KeyBlock) schemaFile() string { return "key_block.avsc" }

func (*ReprocessState) schemaFile() string { return "reprocess_state.avsc" }
