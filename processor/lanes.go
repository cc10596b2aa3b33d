package processor

import (
	"context"
	"hash/fnv"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// processFunc handles one record; see Handler.
type processFunc func(context.Context, *kgo.Record) ([]*kgo.Record, error)

// runLanes processes recs on n lanes: records of one key (or, without a
// key, of one partition) share a lane and run in order; lanes run at once.
// It returns the outputs of each record by index, and for records whose
// handler failed permanently their error by index. Any other error cancels
// the batch.
func runLanes(ctx context.Context, recs []*kgo.Record, n int, fn processFunc) (outs [][]*kgo.Record, skipped map[int]error, err error) {
	lanes := make([][]int, n)
	for i, r := range recs {
		l := laneOf(r, n)
		lanes[l] = append(lanes[l], i)
	}

	outs = make([][]*kgo.Record, len(recs))
	skipped = make(map[int]error)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	var (
		wg sync.WaitGroup
		mu sync.Mutex
	)
	for _, idx := range lanes {
		if len(idx) == 0 {
			continue
		}
		wg.Go(func() {
			for _, i := range idx {
				if ctx.Err() != nil {
					return
				}
				out, err := fn(ctx, recs[i])
				switch {
				case err == nil:
					outs[i] = out
				case IsPermanent(err):
					mu.Lock()
					skipped[i] = err
					mu.Unlock()
				default:
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, nil, err
	}
	return outs, skipped, nil
}

func laneOf(r *kgo.Record, n int) int {
	h := fnv.New32a()
	if r.Key != nil {
		_, _ = h.Write(r.Key)
	} else {
		_, _ = h.Write([]byte(r.Topic))
		_, _ = h.Write([]byte{byte(r.Partition >> 24), byte(r.Partition >> 16), byte(r.Partition >> 8), byte(r.Partition)})
	}
	return int(h.Sum32() % uint32(n))
}
