package schemas

// Topic names. Every topic is keyed by the business id of its item, so all
// records of one item land in one partition (one bucket).
const (
	// TopicDMUsers registers users into the known universe (key user_id).
	TopicDMUsers = "ration.dm.users"
	// TopicDMChecks holds normal-priority marks (key user_id).
	TopicDMChecks = "ration.dm.checks"
	// TopicDMChecksHigh holds high-priority marks (key user_id).
	TopicDMChecksHigh = "ration.dm.checks.high"
	// TopicDMResults holds one result per mark (key user_id).
	TopicDMResults = "ration.dm.results"
	// TopicEvents holds every status change of every item (key item id).
	TopicEvents = "ration.events"
	// TopicDMDead holds DM records that could not be processed at all
	// (undecodable), as they arrived plus error headers. Its values have no
	// schema of their own.
	TopicDMDead = "ration.dm.dead"
	// TopicClients is the client registry (key client name), compacted: the
	// latest record of a name is the client's state. auth/ creates it,
	// because it needs cleanup.policy=compact.
	TopicClients = "ration.clients"
	// TopicAudit holds every authenticated write request and every
	// client-management action (key client name).
	TopicAudit = "ration.audit"
)

// PipelineDM names the DM-check pipeline in status events.
const PipelineDM = "dm"

// topicSchema maps every topic to the embedded schema file of its values.
var topicSchema = map[string]string{
	TopicDMUsers:      "dm_user.avsc",
	TopicDMChecks:     "dm_mark.avsc",
	TopicDMChecksHigh: "dm_mark.avsc",
	TopicDMResults:    "dm_result.avsc",
	TopicEvents:       "event.avsc",
	TopicClients:      "client.avsc",
	TopicAudit:        "audit.avsc",
}

// DeadLetterTopics lists the dead-letter topics: raw bytes, no schema.
func DeadLetterTopics() []string { return []string{TopicDMDead} }

// Topics lists every Avro topic ration writes and the sink stores, in a
// stable order. The client registry (TopicClients) is not among them: it
// is compacted, created by auth/, and never stored in ClickHouse.
func Topics() []string {
	return []string{TopicDMUsers, TopicDMChecks, TopicDMChecksHigh, TopicDMResults, TopicEvents, TopicAudit}
}
