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
)

// topicSchema maps every topic to the embedded schema file of its values.
var topicSchema = map[string]string{
	TopicDMUsers:      "dm_user.avsc",
	TopicDMChecks:     "dm_mark.avsc",
	TopicDMChecksHigh: "dm_mark.avsc",
	TopicDMResults:    "dm_result.avsc",
	TopicEvents:       "event.avsc",
}

// DeadLetterTopics lists the dead-letter topics: raw bytes, no schema.
func DeadLetterTopics() []string { return []string{TopicDMDead} }

// Topics lists every Avro topic ration writes, in a stable order.
func Topics() []string {
	return []string{TopicDMUsers, TopicDMChecks, TopicDMChecksHigh, TopicDMResults, TopicEvents}
}
