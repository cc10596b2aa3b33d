// Package conformance is the test suite every pipeline must pass: one
// shared set of checks, in the manner of Watermill's backend tests, that
// holds a pipeline's descriptor to the runtime's promises. A pipeline's
// tests describe it as a Subject and call Run.
//
// # Subject and items
//
// A Subject is a pipeline under test and a way to feed it items and read
// them back: Input makes the seq-th item (0, 1, 2, ...) of a key for the
// first stage; Read says which key and seq a final output answers. A
// check feeds each of its keys' items in seq order and expects every item
// to come out on the final topic exactly once, each key's in seq order.
// Keys are new in every check, so a subject's side effects keyed by item
// (idempotency keys, say) never meet those of another check; a subject's
// Verify checks those effects at the end of each check.
//
// # Faults
//
// The suite wraps the handler of every stage with retries in a fault
// injector. It fails some tries transiently, chosen by a hash of the
// stage, the record's key and value and the attempt, so the same try
// fails in every process that sees it; it never fails more tries of an
// item than the stage has delay tiers, so nothing parks unless a check
// means it to. An injected failure comes after the handler ran: its
// outputs and state changes must vanish and its side effects repeat, as
// after a lost reply. Views have no retries and are left alone. The suite
// also shortens every stage's delay tiers to 20 ms, 40 ms, 80 ms, ...
// (keeping their number), so retries take milliseconds.
//
// # Draining to a sentinel
//
// A check that stopped reading once it had N outputs could not see a
// duplicate that comes later. So once every item's output has arrived,
// the check feeds one sentinel item per partition, keyed so that Kafka's
// default partitioner puts it in that partition of every topic, and reads
// the final topic read_committed until each sentinel has come out: by
// then every stage has processed each partition up to its sentinel.
// Sentinels are items like any other, checked exactly once and in order.
//
// # Checks
//
// Run runs each check as a subtest on a broker of its own (kfake on
// loopback, with srfake as the schema registry):
//
//   - ExactlyOnceInKeyOrder: two workers in this process, faults in every
//     stage.
//   - RetriesThenParking: for each stage with retries, one key failing
//     every try there ends on that stage's parked topic with a REPROCESS
//     event naming the stage, and every other key completes.
//   - Rebalance: a second worker joins mid-run, the first leaves
//     gracefully.
//   - KilledWorker: two worker processes; one is killed with SIGKILL
//     mid-run and restarted with its instance id, and gets its buckets
//     back.
//
// # Worker processes
//
// A worker process is the test binary itself, started again with the
// subject's name and the broker's address in its environment. Child, the
// first call of the test binary's TestMain, recognises such a start, runs
// every stage of the subject's pipeline until SIGTERM (or SIGKILL) and
// exits; in any other start it returns at once. Workers log JSON to
// stderr, which the checks read as it arrives to learn which buckets each
// worker owns: they synchronise on logs and outputs, never on sleeps.
package conformance
