// Package kafkaacl gives registered workers their own Kafka identity: a
// SASL/SCRAM-SHA-512 user with a random password and only the ACLs its
// pipeline needs, and takes both away again on revocation (DM-3: only
// registered clients interact with ration; workers are Kafka clients).
//
// # Model
//
// A pipeline is a list of grants (Pipelines), derived from its descriptor
// (package pipeline): the topics its workers read, the consumer groups
// they join, the topics they write and the prefixes of their transactional
// ids. CreateWorker turns the grants into ACLs for the principal
// User:worker-NAME and sets the user's SCRAM credentials;
// RevokeWorker deletes the credentials (no new connections) and every ACL
// of the principal (an open connection is refused on its next request).
//
// Every call goes through the Kafka admin API (kadm: CreateACLs,
// DeleteACLs, AlterUserSCRAMCredentials), so the same calls give the same
// result on the embedded broker (kfake with SASL and ACLs on) and on a
// real Kafka cluster whose admin user is a super user (or holds Alter on
// the cluster).
//
// # What the embedded broker does not enforce
//
// kfake checks Produce against the topic's Write ACL only; real Kafka also
// checks Write on the transactional id of a transactional produce. kfake
// does check the transactional id on InitProducerID, AddPartitionsToTxn,
// AddOffsetsToTxn, EndTxn and TxnOffsetCommit, so a worker cannot start or
// commit a transaction under another prefix on either broker.
package kafkaacl
