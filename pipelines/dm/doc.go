// Package dm is the DM-check pipeline, declared by its descriptor (New):
// users are registered on ration.dm.users and marked for a check on
// ration.dm.checks.high or ration.dm.checks, all keyed by user id.
//
// Stage "check" asks a Checker (an HTTP service, or the built-in
// Simulator) whether the user of each mark accepts direct messages and
// writes one Result to ration.dm.results; the runtime writes its status
// events to ration.dm.events in the same transaction. A permanent failure
// (the checker refused the user) is a failed result at once; a transient
// one goes through the stage's delay tiers without holding up the bucket
// and is parked for the reprocessor after the last.
//
// View "state" folds every registration, mark, result and status event
// of a user into the user's Fold (fold.go: pure, and the same whatever
// the order the records arrive in or how often), keeps per bucket how many
// users are in each state, and writes each user's new state to
// ration.dm.states and each bucket's counts to ration.dm.counts. The sink
// stores those as the read model (migrations/0002), so Reader answers a
// lookup, a page or the stats from rows of the users it returns and one
// row per bucket, never from the whole log. WholeLogReader answers the
// same from the log tables: the baseline of `ration bench dm-read` and the
// oracle the view is tested against.
//
// The package also holds the pipeline's HTTP routes (routes.go: marks,
// imports, a user's state and history, pages, stats), the producer behind
// them, and its flags (Options).
package dm
