// Package dmcheck is the DM-check pipeline: for each mark on
// ration.dm.checks.high or ration.dm.checks it asks a Checker whether the
// user accepts direct messages and writes one result to ration.dm.results
// and one status event to ration.events, in the stage's transaction.
//
// The pipeline is pure logic on top of the processor runtime: it never
// talks to Kafka itself. A failed check is retried in place with
// exponential backoff (Retries times); after that the result is recorded
// as failed.
package dmcheck
