// Package reprocess is the reprocessor (RP-4, RP-6, RP-9, RP-10): on a
// schedule, inside an optional off-peak window, it sends parked and stuck
// items through their stage again, and gives up on an item, with one
// notification, once its retry count reaches the maximum.
//
// # What it selects
//
// From ClickHouse's item_status view (every item's latest event): items
// parked with status REPROCESS, and items in ERROR or SUCCESS (sent to a
// delay tier, or between stages) unchanged for the elapse time, which
// means the retry loop or the next stage lost them. An item in ERROR is
// not taken at once: it is waiting in a delay tier and comes back by
// itself. PROCESSED and FAILED items are at their end. An item is a key,
// so a parked record that a later record of its key has passed is not
// selected: the item's latest event is about the later one.
//
// # How it re-sends
//
// Every event names the record it was about (source topic, partition and
// offset). The reprocessor reads that record back from Kafka and writes a
// copy (processor.Reinject: retry headers dropped, ration.retry_count set)
// to the same input partition, with an event of stage "reprocess" that
// carries the new retry count. An item whose retry count has reached the
// maximum gets a FAILED event instead and is notified about.
//
// # Exactly once, with replicas and crashes
//
// All of a run's writes are transactional under one transactional id,
// ration.reprocess, shared by every replica. A run starts by committing a
// lease record under that id: initialising the producer fences the id's
// other holders, aborting whatever another replica has open and stopping
// it from committing again. Only then does it read the compacted topic
// ration.reprocess.state, where every re-send, give-up and notification
// is recorded in the transaction that makes it. So at most one reprocessor
// acts at a time, and a run knows everything the runs before it did even
// when ClickHouse has not caught up yet: an item whose recorded retry count
// is ahead of ClickHouse's is left alone until its stage has seen it again
// (or the elapse time has passed). Once ClickHouse shows the state's own
// last event or a newer one, the state no longer counts: a give-up ends a
// round of an item, and an item that is a candidate again after one (a
// user marked again) starts over. So each run ends by tombstoning such
// entries (unless a notification is pending): the topic holds only what
// runs are ahead on.
//
// Notifications are sent at the end of a run, one message for every
// given-up item not notified yet, and then recorded; a crash in between
// sends the same batch again, with the same idempotency id (Message-ID,
// Idempotency-Key), so receivers can drop the repeat. A batch that reaches
// nobody (no channel is configured, or every channel failed) is not
// recorded and its items are kept: the next run tries again, and the
// first run with a channel reports them.
package reprocess
