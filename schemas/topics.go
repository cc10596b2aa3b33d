package schemas

import "fmt"

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
	// TopicReprocessState holds what the reprocessor did to each item (key
	// pipeline + "/" + item id), compacted, on a single partition: the
	// latest record of a key is the item's state. The reprocessor creates
	// it, because it needs cleanup.policy=compact.
	TopicReprocessState = "ration.reprocess.state"
	// TopicDMParked holds DM marks whose retries are used up, as the
	// original mark bytes (key user_id); see ParkedTopic.
	TopicDMParked = "ration.dm.parked"
)

// PipelineDM names the DM-check pipeline in status events.
const PipelineDM = "dm"

// MaxDelayTiers is the number of delay tiers whose topics the codec
// registers for each pipeline (DelayTopic).
const MaxDelayTiers = 8

// BlockedTopic names the topic that counts, per key, the records of input
// waiting in the delay tiers of a stage's retries (KeyBlock values, key =
// the item key; a tombstone means none wait).
func BlockedTopic(input string) string { return input + ".blocked" }

// DelayTopic names the topic of delay tier tier (from 1) of pipeline's
// retries. It carries the original record bytes of the pipeline's input.
// The codec registers tiers 1..MaxDelayTiers; a pipeline configured with
// more tiers has unregistered topics beyond that.
func DelayTopic(pipeline string, tier int) string {
	return fmt.Sprintf("ration.%s.delay.%d", pipeline, tier)
}

// ParkedTopic names the topic where pipeline's records go once their
// retries are used up, as the original record bytes.
func ParkedTopic(pipeline string) string { return "ration." + pipeline + ".parked" }

// DMDelayTopics lists the DM pipeline's delay topics, tiers 1..tiers.
func DMDelayTopics(tiers int) []string {
	topics := make([]string, 0, max(tiers, 0))
	for tier := 1; tier <= tiers; tier++ {
		topics = append(topics, DelayTopic(PipelineDM, tier))
	}
	return topics
}

// topicSchema maps every topic to the embedded schema file of its values.
// The DM delay and parked topics carry the original mark bytes.
var topicSchema = func() map[string]string {
	m := map[string]string{
		TopicDMUsers:                    "dm_user.avsc",
		TopicDMChecks:                   "dm_mark.avsc",
		TopicDMChecksHigh:               "dm_mark.avsc",
		TopicDMResults:                  "dm_result.avsc",
		TopicEvents:                     "event.avsc",
		TopicClients:                    "client.avsc",
		TopicAudit:                      "audit.avsc",
		TopicReprocessState:             "reprocess_state.avsc",
		BlockedTopic(TopicDMChecks):     "key_block.avsc",
		BlockedTopic(TopicDMChecksHigh): "key_block.avsc",
		TopicDMParked:                   "dm_mark.avsc",
	}
	for _, topic := range DMDelayTopics(MaxDelayTiers) {
		m[topic] = "dm_mark.avsc"
	}
	return m
}()

// DeadLetterTopics lists the dead-letter topics: raw bytes, no schema.
func DeadLetterTopics() []string { return []string{TopicDMDead} }

// Topics lists every Avro topic ration writes and the sink stores, in a
// stable order. The client registry (TopicClients) is not among them: it
// is compacted, created by auth/, and never stored in ClickHouse.
func Topics() []string {
	return []string{TopicDMUsers, TopicDMChecks, TopicDMChecksHigh, TopicDMResults, TopicEvents, TopicAudit}
}
