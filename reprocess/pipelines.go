package reprocess

// Pipeline is what the reprocessor needs to know of a pipeline, derived
// from its descriptor (package pipeline).
type Pipeline struct {
	// EventsTopic receives the events the reprocessor writes about the
	// pipeline's items.
	EventsTopic string
	// Holding lists the stages that hold an item's key while the item is
	// parked (ledgers): when the reprocessor gives up on an item parked
	// there, it sends the item's record back with a give-up header, so
	// the stage lets the key's later items go on.
	Holding []string
}
