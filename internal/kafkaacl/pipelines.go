package kafkaacl

import (
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/rationhq/ration/schemas"
)

// Pipeline is what a worker of one pipeline does on Kafka, and so all it
// may do.
type Pipeline struct {
	// Inputs are the topics the worker consumes: Read (which implies
	// Describe: metadata, ListOffsets for its lag, OffsetFetch, and the
	// topic check of TxnOffsetCommit).
	Inputs []string
	// Group is the consumer group: Read (JoinGroup, SyncGroup, Heartbeat,
	// LeaveGroup, OffsetFetch, AddOffsetsToTxn, TxnOffsetCommit; it
	// implies the Describe of FindCoordinator).
	Group string
	// GroupPrefix prefixes the groups of the stage's delayers, one per
	// delay tier ("ration.<stage>.delay."): Read, on the PREFIXED pattern.
	GroupPrefix string
	// DelayTopicPrefix prefixes the stage's delay tiers
	// ("ration.<pipeline>.delay."): Read and Write, on the PREFIXED
	// pattern, so a worker may be configured with more tiers.
	DelayTopicPrefix string
	// Outputs are the topics the worker writes in its transactions:
	// Write (Produce, AddPartitionsToTxn; implies Describe for metadata).
	Outputs []string
	// TransactionalIDPrefix is the prefix of the worker's transactional
	// ids, "ration.<stage>." followed by the instance id: Write
	// (InitProducerID, AddPartitionsToTxn, AddOffsetsToTxn, EndTxn,
	// TxnOffsetCommit) and Describe (FindCoordinator for the
	// transaction; Write implies it, it is granted anyway so the ACL list
	// reads as what the client does), on the PREFIXED pattern.
	TransactionalIDPrefix string
}

// No IdempotentWrite on the cluster: a transactional producer is
// authorized by Write on its transactional id, and since Kafka 3.0
// (KIP-679) Write on any topic implies IdempotentWrite anyway. No Create:
// the admin creates topics at bootstrap; workers tolerate being refused.

// Pipelines are the pipelines a worker can be registered for; adding a
// pipeline is adding a row. Names, groups and prefixes follow the
// processor's: group "ration.<stage>", transactional id
// "ration.<stage>.<instance id>" (the tests hold them together).
var Pipelines = map[string]Pipeline{
	"dmcheck": {
		// The inputs' changelogs (<input>.blocked) are read when a
		// worker is assigned a bucket, to learn which keys wait in the
		// delay tiers.
		Inputs: []string{schemas.TopicDMChecksHigh, schemas.TopicDMChecks,
			schemas.BlockedTopic(schemas.TopicDMChecksHigh), schemas.BlockedTopic(schemas.TopicDMChecks)},
		Group:            "ration.dmcheck",
		GroupPrefix:      "ration.dmcheck.delay.",
		DelayTopicPrefix: "ration.dm.delay.",
		// ration.dm.dead takes the records the worker cannot process
		// at all, ration.dm.parked those that failed in every delay
		// tier, the changelogs every change of a key's waiting records;
		// the delayers write due records back to the inputs.
		Outputs: []string{schemas.TopicDMResults, schemas.TopicEvents, schemas.TopicDMDead, schemas.TopicDMParked,
			schemas.BlockedTopic(schemas.TopicDMChecksHigh), schemas.BlockedTopic(schemas.TopicDMChecks),
			schemas.TopicDMChecksHigh, schemas.TopicDMChecks},
		TransactionalIDPrefix: "ration.dmcheck.",
	},
}

// acls returns the builders that create (and describe) p's ACLs for
// principal, from any host.
func (p Pipeline) acls(principal string) []*kadm.ACLBuilder {
	return []*kadm.ACLBuilder{
		kadm.NewACLs().Allow(principal).Topics(p.Inputs...).Operations(kadm.OpRead).ResourcePatternType(kadm.ACLPatternLiteral),
		kadm.NewACLs().Allow(principal).Groups(p.Group).Operations(kadm.OpRead).ResourcePatternType(kadm.ACLPatternLiteral),
		kadm.NewACLs().Allow(principal).Groups(p.GroupPrefix).Operations(kadm.OpRead).ResourcePatternType(kadm.ACLPatternPrefixed),
		kadm.NewACLs().Allow(principal).Topics(p.DelayTopicPrefix).Operations(kadm.OpRead, kadm.OpWrite).ResourcePatternType(kadm.ACLPatternPrefixed),
		kadm.NewACLs().Allow(principal).Topics(p.Outputs...).Operations(kadm.OpWrite).ResourcePatternType(kadm.ACLPatternLiteral),
		kadm.NewACLs().Allow(principal).TransactionalIDs(p.TransactionalIDPrefix).
			Operations(kadm.OpWrite, kadm.OpDescribe).ResourcePatternType(kadm.ACLPatternPrefixed),
	}
}
