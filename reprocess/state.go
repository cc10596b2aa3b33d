package reprocess

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rationhq/ration/internal/kafkaread"
	"github.com/rationhq/ration/schemas"
)

// TransactionalID is shared by every reprocessor: whoever starts a run
// fences the others.
const TransactionalID = "ration.reprocess"

// stateKey is the key of an item in ration.reprocess.state.
func stateKey(pipeline, item string) string { return pipeline + "/" + item }

// leasePipeline keys the lease record in ration.reprocess.state: not an
// item, but which reprocessor took over last and when.
const leasePipeline = "_lease"

// takeOver commits a lease record under TransactionalID. Initialising the
// transactional producer fences every other holder of the id: whatever it
// has open is aborted and it can commit nothing more. So once takeOver
// returns, what the others committed is all there is, and loadState sees
// it.
func takeOver(ctx context.Context, tx *kgo.Client, codec *schemas.Codec, worker string, now time.Time) error {
	rec, err := stateRecord(codec, &schemas.ReprocessState{Pipeline: leasePipeline, ItemID: worker, SentAt: now})
	if err != nil {
		return err
	}
	if err := commit(ctx, tx, rec); err != nil {
		return fmt.Errorf("take over as the active reprocessor: %w", err)
	}
	return nil
}

// loadState reads ration.reprocess.state, read-committed, to its end.
func loadState(ctx context.Context, kafka []kgo.Opt, codec *schemas.Codec) (map[string]*schemas.ReprocessState, error) {
	states := make(map[string]*schemas.ReprocessState)
	err := kafkaread.ToEnd(ctx, kafka, map[string][]int32{schemas.TopicReprocessState: {0}}, func(r *kgo.Record) error {
		if r.Value == nil {
			delete(states, string(r.Key))
			return nil
		}
		st := new(schemas.ReprocessState)
		if err := codec.Decode(r.Value, st); err != nil {
			return err
		}
		if st.Pipeline != leasePipeline {
			states[string(r.Key)] = st
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", schemas.TopicReprocessState, err)
	}
	return states, nil
}

// stateRecord is the record that stores st.
func stateRecord(codec *schemas.Codec, st *schemas.ReprocessState) (*kgo.Record, error) {
	v, err := codec.Encode(st)
	if err != nil {
		return nil, fmt.Errorf("encode reprocess state: %w", err)
	}
	return &kgo.Record{Topic: schemas.TopicReprocessState, Partition: 0, Key: []byte(stateKey(st.Pipeline, st.ItemID)), Value: v}, nil
}
