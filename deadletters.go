package ration

import (
	"context"
	"time"
)

// DeadLetter is one record a stage could not process, as it sits in its
// pipeline's dead-letter topic.
type DeadLetter struct {
	Partition         int32     `json:"partition"`
	Offset            int64     `json:"offset"`
	Key               string    `json:"key"`
	Value             []byte    `json:"value"` // base64 in JSON
	Stage             string    `json:"stage"`
	Error             string    `json:"error"`
	OriginalTopic     string    `json:"original_topic"`
	OriginalPartition int32     `json:"original_partition"`
	OriginalOffset    int64     `json:"original_offset"`
	Time              time.Time `json:"time"`
}

// DeadLetterOutcome is what a replay or purge did, or with DryRun would do.
type DeadLetterOutcome struct {
	Letters  int  `json:"letters"`
	Replayed int  `json:"replayed"`
	Purged   int  `json:"purged"`
	DryRun   bool `json:"dry_run"`
}

// DeadLetters is the operator's view of one pipeline's dead letters.
type DeadLetters interface {
	List(ctx context.Context, limit int) ([]DeadLetter, error)
	Replay(ctx context.Context, dryRun bool) (DeadLetterOutcome, error)
	Purge(ctx context.Context, dryRun bool) (DeadLetterOutcome, error)
}
