package ration

import (
	"context"
	"time"
)

// ItemStatus is an item's latest status (RP-5): its latest stage and
// status, retry count, the record behind its latest event and when it last
// changed.
type ItemStatus struct {
	Pipeline        string
	ItemID          string
	Stage           string
	Status          string
	Attempt         int
	RetryCount      int
	Error           string
	SourceTopic     string
	SourcePartition int32
	SourceOffset    int64
	Changed         time.Time
}

// ReprocessSelection says which items the reprocessor looks at: items
// parked with status REPROCESS, and items in ERROR or SUCCESS (not at the
// end of their pipeline) unchanged since StuckBefore.
type ReprocessSelection struct {
	// Pipeline restricts the selection to one pipeline ("": all).
	Pipeline string
	// Status restricts it to one status ("": all of the above).
	Status string
	// Since restricts it to items changed at or after it (zero: no bound).
	Since time.Time
	// StuckBefore is the elapse rule's bound.
	StuckBefore time.Time
}

// ItemKey names an item.
type ItemKey struct {
	Pipeline string
	ItemID   string
}

// ItemStatusReader answers the reprocessor's questions.
type ItemStatusReader interface {
	// ReprocessCandidates returns up to limit selected items ordered by
	// pipeline and item id, after the item (afterPipeline, afterItem).
	ReprocessCandidates(ctx context.Context, sel ReprocessSelection, afterPipeline, afterItem string, limit int) ([]ItemStatus, error)
	// LastChanged returns when each of items last changed (its latest
	// event's time); items with no events are missing from the answer.
	LastChanged(ctx context.Context, items []ItemKey) (map[ItemKey]time.Time, error)
}
