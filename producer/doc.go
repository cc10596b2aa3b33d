// Package producer is the shared part of ration's write path into Kafka:
// the audit log, written for every authenticated write. A pipeline's own
// producing (the DM API's registrations and marks, say) lives with the
// pipeline.
package producer
