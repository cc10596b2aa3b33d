package points

// Name is the pipeline's name: in its topics, events, metrics, commands
// (ration worker points) and HTTP paths (/v1/points).
const Name = "points"

// The pipeline's topics.
const (
	// TopicUsers holds every user (compacted, key user_id).
	TopicUsers = "ration.points.users"
	// TopicCatalogue holds the catalogue's items (compacted, key item_id).
	TopicCatalogue = "ration.points.catalogue"
	// TopicCommands holds the commands to the groups' ledgers, as the API
	// accepted them (key group_id).
	TopicCommands = "ration.points.commands"
	// TopicOutcomes holds the ledger's decision on every command (key
	// group_id): the ledger entries and the rejections.
	TopicOutcomes = "ration.points.outcomes"
	// TopicGroups holds each group after every change (compacted, key
	// group_id): the balances as Kafka has them.
	TopicGroups = "ration.points.groups"
)

// StageLedger applies the commands of each group, one at a time, in order.
const StageLedger = "ledger"

// The kinds of command.
const (
	KindCreate = "create"
	KindJoin   = "join"
	KindBill   = "bill"
	KindRedeem = "redeem"
)

// The outcomes of a command.
const (
	Applied  = "applied"
	Rejected = "rejected"
)

// Why a command was rejected.
const (
	ReasonNoGroup      = "no_group"
	ReasonGroupExists  = "group_exists"
	ReasonNotMember    = "not_member"
	ReasonInsufficient = "insufficient_points"
	// ReasonOverflow is a bill that would take the balance past what it
	// can hold.
	ReasonOverflow = "balance_overflow"
	// ReasonUnknownKind is a command this ledger does not know (written
	// by a newer API).
	ReasonUnknownKind = "unknown_kind"
)
