// Package dm is the DM-check pipeline: for each mark on
// ration.dm.checks.high or ration.dm.checks it asks a Checker whether the
// user accepts direct messages and writes one result to ration.dm.results
// and one status event to ration.events, in the stage's transaction.
//
// The pipeline is pure logic on top of the processor runtime: it never
// talks to Kafka itself. Each record is checked once: a permanent failure
// (the checker refused the user) is recorded as failed at once; a transient
// one goes back to the runtime, which retries it through its delay tiers
// without holding up the bucket and parks it for the reprocessor after the
// last (processor.Retry).
package dm
