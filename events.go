package ration

import (
	"context"
	"time"
)

// ItemEvent is one status change of one item in one stage (RP-5), as the
// history endpoints show it.
type ItemEvent struct {
	ItemID          string    `json:"item_id"`
	Pipeline        string    `json:"pipeline"`
	Stage           string    `json:"stage"`
	Status          string    `json:"status"`
	Attempt         int       `json:"attempt"`
	RetryCount      int       `json:"retry_count"`
	Worker          string    `json:"worker"`
	SourceTopic     string    `json:"source_topic"`
	SourcePartition int32     `json:"source_partition"`
	SourceOffset    int64     `json:"source_offset"`
	ErrorClass      string    `json:"error_class"`
	Error           string    `json:"error"`
	Time            Timestamp `json:"time"`
}

// HistoryReader answers the history of an item.
type HistoryReader interface {
	// ItemHistory returns every status change of the item since the day
	// of since (the zero time: ever), oldest first (empty if it has none).
	// A caller that knows when the item began says so, and the lookup
	// reads the months since then rather than every month stored.
	ItemHistory(ctx context.Context, pipeline, itemID string, since time.Time) ([]ItemEvent, error)
}
