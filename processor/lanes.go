package processor

import (
	"context"
	"hash/fnv"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// processFunc handles one record: its outputs and what became of it. An
// error cancels the batch.
type processFunc func(context.Context, *kgo.Record) ([]*kgo.Record, outcome, error)

// outcome is what became of one input record, for metrics.
type outcome uint8

const (
	outcomeDone      outcome = iota // processed
	outcomeRejected                 // refused for good by the handler, with outputs saying so
	outcomeDead                     // failed permanently: dead-lettered or skipped
	outcomeDelayed                  // failed transiently: sent to a delay tier
	outcomeWaiting                  // sent to a delay tier behind an older record of its key
	outcomeParked                   // failed in every tier: parked for the reprocessor
	outcomeReleased                 // a give-up notice released a held key
	outcomeDropped                  // a give-up notice with nothing to release
	outcomeDuplicate                // another form of an item the stage took before (ErrDuplicate)
)

var outcomeNames = [...]string{"committed", "rejected", "dead_lettered", "delayed", "waiting", "parked", "released", "dropped", "duplicate"}

// laneFunc picks the lane of a record among n.
type laneFunc func(r *kgo.Record, n int) int

// runLanes processes recs on n lanes: records of one lane run in order;
// lanes run at once. It returns the outputs and outcome of each record by
// index. An error cancels the batch.
func runLanes(ctx context.Context, recs []*kgo.Record, n int, laneOf laneFunc, fn processFunc) (outs [][]*kgo.Record, outcomes []outcome, err error) {
	lanes := make([][]int, n)
	for i, r := range recs {
		l := laneOf(r, n)
		lanes[l] = append(lanes[l], i)
	}

	outs = make([][]*kgo.Record, len(recs))
	outcomes = make([]outcome, len(recs))
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	var wg sync.WaitGroup
	for _, idx := range lanes {
		if len(idx) == 0 {
			continue
		}
		wg.Go(func() {
			for _, i := range idx {
				if ctx.Err() != nil {
					return
				}
				out, oc, err := fn(ctx, recs[i])
				if err != nil {
					cancel(err)
					return
				}
				outs[i], outcomes[i] = out, oc
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, nil, err
	}
	return outs, outcomes, nil
}

// laneByKey gives one key's records (without a key, one partition's) one
// lane.
func laneByKey(r *kgo.Record, n int) int {
	if r.Key == nil {
		return laneByPartition(r, n)
	}
	h := fnv.New32a()
	_, _ = h.Write(r.Key)
	return int(h.Sum32() % uint32(n))
}

// laneByPartition gives one bucket's records, of every input topic, one
// lane.
func laneByPartition(r *kgo.Record, n int) int { return int(r.Partition) % n }
