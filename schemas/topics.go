package schemas

// The topics shared by every pipeline. A pipeline's own topics are named
// by its descriptor (package pipeline).
const (
	// TopicClients is the client registry (key client name), compacted: the
	// latest record of a name is the client's state. auth/ creates it,
	// because it needs cleanup.policy=compact.
	TopicClients = "ration.clients"
	// TopicAudit holds every authenticated write request and every
	// client-management action (key client name).
	TopicAudit = "ration.audit"
	// TopicReprocessState holds what the reprocessor did to each item (key
	// pipeline + "/" + item id), compacted, on a single partition: the
	// latest record of a key is the item's state. The reprocessor creates
	// it, because it needs cleanup.policy=compact.
	TopicReprocessState = "ration.reprocess.state"
)

// Shared lists the shared topics and their record types.
func Shared() []TopicSchema {
	return []TopicSchema{
		{TopicClients, new(Client)},
		{TopicAudit, new(Audit)},
		{TopicReprocessState, new(ReprocessState)},
	}
}
