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
// A pipeline's own records live with the pipeline (pipelines/dm), this
// package holds the shared ones (Event, Audit, Client, KeyBlock,
// ReprocessState). A Record names its schema (AvroSchema) and is encoded
// by structcodec, a reflection codec driven by the schema and the
// struct's avro tags, unless it encodes itself (methods AppendAvro and ReadAvro, over
// avrobin): worth it only on the hot path,
// a record per item of a busy stage. schematest holds every hand-coded
// record to goavro's answers.
//
// A schema changes only by appending fields with defaults. Records written
// under an earlier version keep its id and still decode, with the added
// fields at their defaults (versions.go); records are always written under
// the current version.
package schemas
