package schemas

import (
	"embed"
	"time"
)

//go:embed *.avsc
var files embed.FS

var (
	eventSchema          = MustSchema(files, "event.avsc")
	clientSchema         = MustSchema(files, "client.avsc")
	auditSchema          = MustSchema(files, "audit.avsc")
	keyBlockSchema       = MustSchema(files, "key_block.avsc")
	reprocessStateSchema = MustSchema(files, "reprocess_state.avsc")
)

// AvroSchema implements Record.
func (*Event) AvroSchema() *Schema { return eventSchema }

// AvroSchema implements Record.
func (*Client) AvroSchema() *Schema { return clientSchema }

// AvroSchema implements Record.
func (*Audit) AvroSchema() *Schema { return auditSchema }

// AvroSchema implements Record.
func (*KeyBlock) AvroSchema() *Schema { return keyBlockSchema }

// AvroSchema implements Record.
func (*ReprocessState) AvroSchema() *Schema { return reprocessStateSchema }

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
	ItemID          string    `avro:"item_id"`
	Pipeline        string    `avro:"pipeline"`
	Stage           string    `avro:"stage"`
	Status          Status    `avro:"status"`
	Attempt         int       `avro:"attempt"`
	RetryCount      int       `avro:"retry_count"`
	Worker          string    `avro:"worker"`
	SourceTopic     string    `avro:"source_topic"`
	SourcePartition int32     `avro:"source_partition"`
	SourceOffset    int64     `avro:"source_offset"`
	ErrorClass      string    `avro:"error_class"`
	Error           string    `avro:"error"`
	Time            time.Time `avro:"time"`
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
	Name      string     `avro:"name"`
	Kind      ClientKind `avro:"kind"`
	Scope     Scope      `avro:"scope"`
	KeyHash   string     `avro:"key_hash"`
	Pipeline  string     `avro:"pipeline"`
	CreatedAt time.Time  `avro:"created_at"`
	Revoked   bool       `avro:"revoked"`
}

// Audit is one authenticated write request or client-management action.
// Target is the client a management action was about, if any.
type Audit struct {
	Client string    `avro:"client"`
	Method string    `avro:"method"`
	Route  string    `avro:"route"`
	Target string    `avro:"target"`
	Status int       `avro:"status"`
	Time   time.Time `avro:"time"`
}

// KeyBlock is the records of one key in a stage's retry loop (kept in the
// stage's changelog): Seqs are their sequence numbers, oldest first,
// Tiers[i] the delay tier Seqs[i] waits in (0: parked), NextSeq the number
// the next record to join gets, and ParkedItem, in a stage that holds a
// key while its oldest record is parked, that record's item id. A
// tombstone means none is in the loop.
type KeyBlock struct {
	Seqs       []int  `avro:"seqs"`
	Tiers      []int  `avro:"tiers"`
	NextSeq    int    `avro:"next_seq"`
	ParkedItem string `avro:"parked_item"`
}

// ReprocessState is what the reprocessor did to one item (compacted topic
// ration.reprocess.state, key Pipeline + "/" + ItemID). SentAt is the time
// of the last re-send; a zero SentAt, FailedAt or NotifiedAt means never
// (0 on the wire). Stage and Error are the item's stage and last error
// when it was given up on (empty unless FailedAt is set): what its
// notification tells, in whichever run that goes out.
type ReprocessState struct {
	Pipeline   string    `avro:"pipeline"`
	ItemID     string    `avro:"item_id"`
	RetryCount int       `avro:"retry_count"`
	SentAt     time.Time `avro:"sent_at"`
	FailedAt   time.Time `avro:"failed_at"`
	NotifiedAt time.Time `avro:"notified_at"`
	Stage      string    `avro:"stage"`
	Error      string    `avro:"error"`
}
