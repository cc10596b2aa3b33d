// Package auth is ration's client registry: who may talk to the HTTP API,
// with which scope, and which workers exist.
//
// # Model
//
// A client is a name, a kind (an HTTP "api" client or a Kafka "worker"),
// a scope (read < write < admin) and, for API clients, the SHA-256 of its
// key. Keys are 32 random bytes, base64url-encoded behind the prefix
// "rk_"; they are shown once, when created, and never stored: the
// registry, the topic and the logs only ever see the digest.
//
// # Storage
//
// The registry lives in Kafka, in the compacted topic ration.clients keyed
// by client name: the latest record of a name is that client's state. A
// record with revoked=true, or a tombstone, revokes it. Every API process
// holds the whole registry in memory (a map from digest to client, O(1)
// per request) and a Follower keeps it current by consuming the topic,
// so a registration or revocation made on one API node reaches every node
// within about a fetch wait (500 ms).
//
// # Workers
//
// Workers authenticate to Kafka itself (SASL/SCRAM, ACLs). The registry
// records that they exist; a WorkerProvisioner creates their Kafka
// credentials.
package auth
