// Package schemas holds the Avro schemas of every record ration writes to
// Kafka, the Go types they decode into, and the codec that puts them in
// Confluent's wire format (magic byte, 4-byte schema id, Avro body).
//
// The .avsc files are embedded and registered under "<topic>-value" at
// start-up, so any Confluent-compatible consumer (Kafka UI, kcat -s avro)
// decodes every topic. One schema may serve several topics (the normal and
// the high-priority check topics share dm_mark.avsc); the registry gives
// identical schemas one id.
//
// A schema changes only by appending fields with defaults. Records written
// under an earlier version keep its id and still decode, with the added
// fields at their defaults (versions.go); records are always written under
// the current version.
package schemas
